import Foundation

/// A minimal SVG builder: elements appended as text, attribute values escaped.
struct SVGWriter {
  private(set) var body: [String] = []
  private var depth = 1

  /// `<name a="v" …>` with a matching `close`.
  mutating func open(_ name: String, _ attributes: [String: String] = [:]) {
    emit("<\(name)\(SVGWriter.attributes(attributes.sorted { $0.key < $1.key }))>")
    depth += 1
  }

  mutating func close(_ name: String) {
    depth -= 1
    emit("</\(name)>")
  }

  /// A filled rectangle, with an optional tooltip.
  mutating func rect(
    _ x: Double, _ y: Double, _ width: Double, _ height: Double, fill: String, cls: String, title: String? = nil
  ) {
    let attrs = SVGWriter.attributes([
      ("class", cls), ("x", n(x)), ("y", n(y)), ("width", n(max(0, width))), ("height", n(height)), ("fill", fill),
      ("rx", "2"),
    ])
    if let title {
      emit("<rect\(attrs)><title>\(SVGWriter.escape(title))</title></rect>")
    } else {
      emit("<rect\(attrs)/>")
    }
  }

  mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double) {
    let attrs = [
      ("x1", n(x1)), ("y1", n(y1)), ("x2", n(x2)), ("y2", n(y2)), ("stroke", stroke), ("stroke-width", n(width)),
    ]
    emit("<line\(SVGWriter.attributes(attrs))/>")
  }

  /// Text at a baseline point; `spans` append differently styled runs (text, fill, weight, size).
  mutating func text(
    _ x: Double, _ y: Double, _ content: String, size: Double, weight: String = "normal", fill: String = SVGChart.ink,
    anchor: String = "start", family: String? = nil, spans: [(String, String, String, Double)] = []
  ) {
    var attrs: [(String, String)] = [("x", n(x)), ("y", n(y)), ("font-size", n(size)), ("fill", fill)]
    if weight != "normal" { attrs.append(("font-weight", weight)) }
    if anchor != "start" { attrs.append(("text-anchor", anchor)) }
    if let family { attrs.append(("font-family", family)) }
    var inner = SVGWriter.escape(content)
    for (text, color, w, s) in spans {
      let span = SVGWriter.attributes([("dx", n(s)), ("fill", color), ("font-weight", w), ("font-size", n(s))])
      inner += "<tspan\(span)>\(SVGWriter.escape(text))</tspan>"
    }
    emit("<text\(SVGWriter.attributes(attrs))>\(inner)</text>")
  }

  /// The complete document with a white background and sans-serif default font.
  func document(width: Double, height: Double) -> String {
    let header = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
      viewBox="0 0 \(n(width)) \(n(height))" \
      font-family="Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif">
        <rect class="background" width="100%" height="100%" fill="#ffffff"/>
      """
    return header + "\n" + body.joined(separator: "\n") + "\n</svg>\n"
  }

  private mutating func emit(_ line: String) {
    body.append(String(repeating: "  ", count: depth) + line)
  }

  /// ` a="v" b="w"`.
  static func attributes(_ pairs: [(String, String)]) -> String {
    pairs.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
  }

  /// Escapes the five XML special characters.
  static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      default: out.append(c)
      }
    }
    return out
  }
}

/// A coordinate with at most one decimal: `12`, `12.5`.
private func n(_ value: Double) -> String {
  let rounded = (value * 10).rounded() / 10
  return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
}
