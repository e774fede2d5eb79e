import GraphFuse

/// `graphfuse report MODEL [--json] [--no-fold] [--no-fuse] [--keep OP,…]`.
enum ReportCommand {
  static func run(_ raw: [String]) throws(GraphFuseError) {
    let args = try Arguments(raw, valued: ["keep", "opaque", "shape"], flags: ["json", "no-fold", "no-fuse", "no-chain"])
    let model = try args.model("report")
    let graph = try ModelLoader.load(model, shapes: args.shapes())
    let report = try graph.optimized(args.optimizeOptions()).report(model: model)
    print(args.flag("json") ? report.json : report.description)
  }
}

/// `graphfuse dot MODEL`: Graphviz text with one cluster per fused group.
enum DotCommand {
  static func run(_ raw: [String]) throws(GraphFuseError) {
    let args = try Arguments(raw, valued: ["keep", "opaque", "shape"], flags: ["no-fold", "no-fuse", "no-chain"])
    let model = try args.model("dot")
    let graph = try ModelLoader.load(model, shapes: args.shapes())
    print(GraphvizWriter.dot(try graph.optimized(args.optimizeOptions()), model: model))
  }
}
