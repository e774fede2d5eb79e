import Foundation

/// Graphviz text of an optimized graph with one cluster per fused group.
public enum GraphvizWriter {
  /// `digraph` text: ops as boxes inside one cluster per group, graph inputs as ellipses;
  /// edges carry the tensor shape. Render with `dot -Tsvg`.
  public static func dot(_ optimized: OptimizedGraph, model: String = "graph") -> String {
    let graph = optimized.graph
    var lines = [
      "digraph \"\(escape(model))\" {", "  rankdir=TB;",
      "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=Helvetica, fontsize=10];",
      "  edge [fontname=Helvetica, fontsize=8, color=gray40];",
    ]
    for id in graph.inputs {
      lines.append(
        "  v\(id) [label=\"\(escape(graph.values[id].name))\\n\(shapeText(graph.shape(of: id)))\", shape=ellipse, "
          + "fillcolor=lightyellow];"
      )
    }
    let palette = ["#dbe9f6", "#e2f0d9", "#fde9d9", "#ece2f4", "#fff2cc", "#d9f2f0"]
    for (g, group) in optimized.plan.groups.enumerated() {
      lines.append("  subgraph cluster_\(g) {")
      lines.append(
        "    label=\"\(escape(group.name))\"; style=\"rounded,filled\"; fillcolor=\"\(palette[g % palette.count])\"; "
          + "color=gray60; fontname=Helvetica; fontsize=9;"
      )
      for n in group.nodes {
        let node = graph.nodes[n]
        let bold = n == group.anchor ? ", penwidth=2" : ""
        lines.append("    n\(n) [label=\"\(escape(node.op))\\n\(escape(node.name))\"\(bold)];")
      }
      lines.append("  }")
    }
    for (n, node) in graph.nodes.enumerated() {
      for input in node.inputs where graph.constant(input) == nil {
        let source = graph.producer(of: input).map { "n\($0)" } ?? "v\(input)"
        lines.append("  \(source) -> n\(n) [label=\"\(shapeText(graph.shape(of: input)))\"];")
      }
    }
    for (k, id) in graph.outputs.enumerated() {
      lines.append(
        "  out\(k) [label=\"output \(k)\\n\(shapeText(graph.shape(of: id)))\", shape=ellipse, fillcolor=lightyellow];")
      let source = graph.producer(of: id).map { "n\($0)" } ?? "v\(id)"
      lines.append("  \(source) -> out\(k);")
    }
    lines.append("}")
    return lines.joined(separator: "\n")
  }

  private static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
  }
}
