import Foundation
import GraphFuse

/// `graphfuse compile MODEL -o DIR`: the optimized model as a C library (``DeployLibrary``).
enum CompileCommand {
  static func run(_ args: Arguments) throws(GraphFuseError) {
    let model = try args.model()
    guard let directory = args.value(.outputDirectory) else {
      throw GraphFuseError("compile needs -o DIR (the directory for model.h, libmodel.so and weights.bin)")
    }
    let threads = args.int(.threads, default: ProcessInfo.processInfo.activeProcessorCount)
    let options = CompileOptions(threads: threads)
    let files: DeployLibrary.Files
    if let maxBatch = args.value(.maxBatch).flatMap({ Int($0) }) {
      if args.value(.batch) != nil { throw GraphFuseError("give --batch or --max-batch, not both") }
      let sizes = DeployLibrary.batchSizes(upTo: maxBatch)
      var variants: [DeployLibrary.BatchVariant] = []
      for size in sizes {
        let graph: Graph
        do { graph = try ModelLoader.load(model, shapes: args.shapes(), batch: size) } catch {
          // Most often the export fixed the batch (a reshape to batch 1): say which batch failed.
          var error = error
          error.message += " (at batch \(size) of --max-batch: does the export fix the batch?)"
          throw error
        }
        let optimized = try graph.optimized(args.optimizeOptions())
        variants.append(DeployLibrary.BatchVariant(batch: size, graph: optimized.graph, plan: optimized.plan))
      }
      files = try DeployLibrary.write(batches: variants, to: directory, options: options)
      print("batch sizes compiled: \(sizes.map(String.init).joined(separator: ", ")) (any batch up to \(maxBatch))")
    } else {
      let graph = try ModelLoader.load(model, shapes: args.shapes(), batch: args.value(.batch).flatMap { Int($0) })
      let optimized = try graph.optimized(args.optimizeOptions())
      files = try DeployLibrary.write(optimized.graph, plan: optimized.plan, to: directory, options: options)
    }
    print("wrote \(files.header), \(files.library), \(files.weights) (and the source \(files.source))")
    // The run-time search path must be absolute: relative to the working directory unless given so.
    let rpath = directory.hasPrefix("/") ? directory : "$PWD/\(directory)"
    print("build a program:  cc main.c -I\(directory) -L\(directory) -lmodel -Wl,-rpath,\"\(rpath)\" -o app")
  }
}
