import Foundation
import GraphFuse

let usage = """
  graphfuse — fold batch norms, fuse operators, compile and run inference graphs

  usage: graphfuse COMMAND [MODEL] [options]
    MODEL is a path to an .onnx file or a built-in model: zoo:tiny, zoo:resnet18, zoo:resnet50, zoo:mobilenet_v2

  commands:
    demo                          optimize zoo:resnet18, print its report, time fused vs unfused
    report MODEL [--json] [--no-fold] [--no-fuse] [--keep OP,…] [--opaque OP,…]
                                  fused groups and batch-norm decisions
    run MODEL --input F [--output F] [--backend compiled|reference] [--threads N]
                                  inference on raw little-endian float32 files
    bench MODEL [--runs N] [--warmup N] [--threads N] [--batch N] [--json] [--svg F]
          [--peak GFLOPS|measure|none]
                                  unfused / folded / fused timing, a per-group profile against
                                  the FMA peak (measured on this host unless given)
    lower MODEL [--group NAME] [--emit loops|c]
                                  the loop nests or C of a fused group
    dot MODEL                     Graphviz text with one cluster per fused group

  common options:
    --shape NAME=1x3x224x224      the shape of a graph input with symbolic dimensions
    --no-chain                    fuse by TVM's rules only: no [1x1 ->] depthwise -> 1x1 conv chains
  """

/// Runs one command; errors become one stderr line and exit status 1.
func main() -> Int32 {
  var args = Array(CommandLine.arguments.dropFirst())
  guard let command = args.first else {
    print(usage)
    return 0
  }
  args.removeFirst()
  do {
    switch command {
    case "-h", "--help", "help": print(usage)
    case "demo": try DemoCommand.run(args)
    case "report": try ReportCommand.run(args)
    case "run": try RunCommand.run(args)
    case "dot": try DotCommand.run(args)
    case "bench": try BenchCommand.run(args)
    case "lower": try LowerCommand.run(args)
    default: throw GraphFuseError("unknown command '\(command)' (try graphfuse --help)")
    }
    return 0
  } catch {
    FileHandle.standardError.write(Data(("graphfuse: " + String(describing: error) + "\n").utf8))
    return 1
  }
}

exit(main())
