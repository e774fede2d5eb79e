import Foundation
import GraphFuse

/// `graphfuse compile MODEL -o DIR`: the optimized model as a C library (``DeployLibrary``).
enum CompileCommand {
  static func run(_ args: Arguments) throws(GraphFuseError) {
    let model = try args.model()
    guard let directory = args.value(.outputDirectory) else {
      throw GraphFuseError("compile needs -o DIR (the directory for model.h, libmodel.so and weights.bin)")
    }
    let graph = try ModelLoader.load(model, shapes: args.shapes(), batch: args.value(.batch).flatMap { Int($0) })
    let optimized = try graph.optimized(args.optimizeOptions())
    let threads = args.int(.threads, default: ProcessInfo.processInfo.activeProcessorCount)
    let files = try DeployLibrary.write(
      optimized.graph, plan: optimized.plan, to: directory, options: CompileOptions(threads: threads))
    print("wrote \(files.header), \(files.library), \(files.weights) (and the source \(files.source))")
    // The run-time search path must be absolute: relative to the working directory unless given so.
    let rpath = directory.hasPrefix("/") ? directory : "$PWD/\(directory)"
    print("build a program:  cc main.c -I\(directory) -L\(directory) -lmodel -Wl,-rpath,\"\(rpath)\" -o app")
  }
}
