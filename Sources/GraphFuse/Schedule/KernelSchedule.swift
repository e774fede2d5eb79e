/// How one kernel of a compiled model runs, as data: its kind, operand layouts, register tile
/// and why, the parallel axes and task count, and the fused epilogue members.
public struct KernelSchedule: Sendable, Equatable, CustomStringConvertible {
  /// What the kernel computes.
  public enum Kind: String, Sendable {
    case convDense = "conv dense"
    case convPointwise = "conv 1x1"
    case convDepthwise = "conv depthwise"
    case convGrouped = "conv grouped"
    case convWinograd = "conv winograd"
    case convChain = "conv chain [1x1 ->] depthwise -> 1x1"
    case convFewChannels = "conv with few output channels, output pixels in the lanes"
    case attention = "attention Q.K^T -> softmax -> .V"
    case pool = "pool"
    case globalAveragePool = "global average pool"
    case spatialReduction = "spatial reduction over a blocked map, a vector of channels at a time"
    case columnReduction = "reduction over rows of contiguous columns, a vector of columns at a time"
    case dense = "dense"
    case matmul = "matmul"
    case elementwise = "elementwise"
    case concat = "concat"
    case concatInPlace = "concat in place"
    case channelRemap = "channel remap"
    case channelSliceView = "channel slice as a view"
    case toBlocked = "layout change plain -> blocked"
    case toPlain = "layout change blocked -> plain"
    case loops = "generic loop nest"
    case scaleWeights = "scale weights by input channel"
    case scaleFolded = "channel multiply folded into the reading convs' weights"
    case prologueFolded = "elementwise stage folded into the reading 1x1 convs' input tiles"
    case packPanels = "copy of a matmul's A into row-tile panels"
    case viewFolded = "strided view read in place by the attention reading it"
    case reshapeView = "reshape read in place: the input's memory with the new shape, no kernel"
    case transposedCopy = "copy transposed through registers, a vector per source column"
    case recurrence = "recurrent steps in order, a task per direction and pair of sequences"
    case groupNorm = "group norm: statistics over pixel chunks, then x * scale + shift"

    /// Whether the pool deals this kind's tasks to threads in contiguous shares (each thread its
    /// own run of tasks, stealing from the back of the others' when done) rather than in chunks
    /// from one counter: neighbouring tasks read the same data (an attention's row tiles one
    /// entry's K and V, a matmul's column tiles one row tile of A, a row-wise kernel the rows the
    /// producer's share wrote), which then stays in one core's L2. Convolutions keep the counter:
    /// their tasks run over output channel groups outermost, so a share is a channel group over
    /// every pixel, and ResNet-50's convs over 56² and 28² maps ran 1.13–1.50× slower in shares.
    public var dealsContiguousShares: Bool {
      switch self {
      case .convDense, .convPointwise, .convDepthwise, .convGrouped, .convWinograd, .convChain, .pool,
        .scaleWeights, .recurrence, .groupNorm:
        return false
      default:
        return true
      }
    }
  }

  /// The memory layout of an operand.
  public enum Layout: Sendable, Equatable, CustomStringConvertible {
    /// Row-major as the graph declares it (NCHW for images).
    case plain
    /// `NCHW[v]c`: channels in blocks of `v` floats, innermost.
    case blocked(Int)
    /// Packed once at compile time for this kernel (weights, per-channel vectors).
    case packed
    /// Copied at run time into panels of `rows` rows, `[K block][row tile][k][row]` (a matmul's A).
    case panels(Int)

    /// `plain`, `NCHW16c`, `packed` or `panels of 12 rows`.
    public var description: String {
      switch self {
      case .plain: return "plain"
      case .blocked(let v): return "NCHW\(v)c"
      case .packed: return "packed"
      case .panels(let rows): return "panels of \(rows) rows"
      }
    }
  }

  /// A loop whose iterations are split into the kernel's tasks.
  public enum Axis: String, Sendable {
    case batch, channelBlock = "channel block", channelGroup = "output channel vector group", row = "output row"
    case pixelTile = "pixel tile", rowBand = "row band", element = "element block"
  }

  /// The register tile of a microkernel: `pixels` output pixels × `vectors` channel vectors of
  /// accumulators.
  public struct Tile: Sendable, Equatable {
    /// Output pixels per tile.
    public var pixels: Int
    /// Channel vectors per tile.
    public var vectors: Int
    /// Why this size.
    public var reason: String
  }

  /// What the kernel computes.
  public var kind: Kind
  /// The plan group it belongs to.
  public var group: GroupID
  /// The C symbol it runs as (nil: no kernel, such as a concat in place).
  public var symbol: String?
  /// Layouts of the operands it reads, in buffer order.
  public var inputs: [Layout]
  /// Layout of what it writes.
  public var output: Layout
  /// The register tile, for microkernels.
  public var tile: Tile?
  /// The loops split into tasks, outermost first.
  public var parallel: [Axis]
  /// The task count.
  public var tasks: Int
  /// The fused members applied in registers before the store (their IR op names).
  public var epilogue: [String]
  /// The fused members applied to the input as it is loaded, before the conv (their IR op names).
  public var prologue: [String] = []
  /// For a layout change: the graph value it converts.
  public var value: String?
  /// True when the work is too small to be worth a round trip through the thread pool: the
  /// calling thread runs all tasks.
  public var onCaller = false
  /// True when the pool deals the tasks in contiguous shares (``Kind/dealsContiguousShares``).
  public var contiguousShares = false

  /// Creates a schedule; the symbol and task count are filled in when the kernel is emitted.
  public init(
    _ kind: Kind, group: GroupID, inputs: [Layout], output: Layout, tile: Tile? = nil, parallel: [Axis] = [],
    epilogue: [String] = [],
    symbol: String? = nil, tasks: Int = 0
  ) {
    self.kind = kind
    self.group = group
    self.inputs = inputs
    self.output = output
    self.tile = tile
    self.parallel = parallel
    self.epilogue = epilogue
    self.symbol = symbol
    self.tasks = tasks
  }

  /// One line: `conv dense · in NCHW16c, packed → NCHW16c · tile 12 px × 2 vectors (…) · …`.
  public var description: String {
    var parts = ["\(kind.rawValue)"]
    parts.append("in " + inputs.map(\.description).joined(separator: ", ") + " -> \(output)")
    if let tile {
      let unit = [.dense, .matmul, .attention].contains(kind) ? "rows" : "px"
      parts.append(
        "tile \(tile.pixels) \(unit) x \(tile.vectors) vector\(tile.vectors == 1 ? "" : "s") (\(tile.reason))")
    }
    if symbol != nil {
      let axes = parallel.isEmpty ? "" : " over " + parallel.map(\.rawValue).joined(separator: " x ")
      let count = "\(tasks) task\(tasks == 1 ? "" : "s")"
      let shares = contiguousShares ? " in contiguous shares" : ""
      parts.append(onCaller ? "on the calling thread (tiny work): \(count)" : "parallel\(axes): \(count)\(shares)")
    } else {
      parts.append("no kernel")
    }
    if !prologue.isEmpty { parts.append("prologue " + prologue.joined(separator: ", ")) }
    if !epilogue.isEmpty { parts.append("epilogue " + epilogue.joined(separator: ", ")) }
    return parts.joined(separator: " · ")
  }
}
