import GraphFuse

/// `graphfuse report MODEL`: fused groups and batch-norm decisions.
enum ReportCommand {
  static func run(_ args: Arguments) throws(GraphFuseError) {
    let model = try args.model()
    let graph = try ModelLoader.load(model, shapes: args.shapes())
    let report = try graph.optimized(args.optimizeOptions()).report(model: model)
    print(args.flag(.json) ? report.json : report.description)
  }
}

/// `graphfuse dot MODEL`: Graphviz text with one cluster per fused group.
enum DotCommand {
  static func run(_ args: Arguments) throws(GraphFuseError) {
    let model = try args.model()
    let graph = try ModelLoader.load(model, shapes: args.shapes())
    print(GraphvizWriter.dot(try graph.optimized(args.optimizeOptions()), model: model))
  }
}
