/// The C source of a whole model, as the cache keeps it and `graphfuse lower --emit c` prints it.
///
/// One file that compiles alone (`cc -c model.c`), split into parts so that a large model
/// compiles on all cores: part `k` is the text between `#if !defined(GF_PART) || GF_PART == k`
/// and its `#endif`; compiled with `-DGF_PART=k`, the file holds only that part's kernels (the
/// header of helpers and vector types is in every part, the thread pool in part 0). The parts are
/// linked into one library.
struct ModelSource: Equatable, Sendable {
  /// The whole file.
  var text: String
  /// How many parts it has (each compiled with `-DGF_PART=k`, `0 ≤ k < parts`).
  var parts: Int

  /// How a model's kernels are split into parts.
  struct Split: Equatable, Sendable {
    /// At most this many parts (compiled at the same time).
    var maxParts: Int
    /// Source bytes of kernels per part below which kernels share a part: starting a compiler
    /// and linking costs more than compiling a small part in parallel saves.
    var bytesPerPart: Int

    /// One part per core, parts of at least 48 KiB of kernels.
    static var machine: Split { Split(maxParts: System.coreCount, bytesPerPart: 48 * 1024) }
  }

  /// The source of a kernel plan: each of its distinct functions rendered once, in plan order.
  init(_ plan: KernelPlan, split: Split = .machine) {
    self.init(functions: plan.functions.map(KernelFunction.init), vectorWidth: plan.vectorWidth, split: split)
  }

  /// The source of `functions` for blocked vectors of `vectorWidth` floats, split as `split`
  /// says into parts of about equal size (contiguous runs of kernels, in launch order).
  init(functions: [KernelFunction], vectorWidth: Int, split: Split = .machine) {
    let sizes = functions.map { $0.text.utf8.count }
    let total = sizes.reduce(0, +)
    let parts = max(1, min(split.maxParts, functions.count, total / max(split.bytesPerPart, 1)))
    var partOf: [Int] = []
    var sum = 0
    for size in sizes {
      // A kernel goes to the part its midpoint falls in.
      partOf.append(min(parts - 1, (sum + size / 2) * parts / max(total, 1)))
      sum += size
    }
    var lines = [
      "/* A GraphFuse model: \(functions.count) kernels in \(parts) part\(parts == 1 ? "" : "s"). It compiles alone;\n"
        + "   with -DGF_PART=k only part k (0 ≤ k < \(parts)) is compiled, and the parts link into one library. */",
      "#define GF_V \(vectorWidth)",
      CRuntime.header,
    ]
    for part in 0..<parts {
      lines.append("#if !defined(GF_PART) || GF_PART == \(part)")
      if part == 0 { lines.append(CRuntime.threadPool) }
      for (f, function) in functions.enumerated() where partOf[f] == part { lines.append(function.text) }
      lines.append("#endif  /* part \(part) */")
    }
    text = lines.joined(separator: "\n\n") + "\n"
    self.parts = parts
  }

  /// A source of one part with no kernels of the model (measurement kernels and tests).
  init(text: String) {
    self.text = text
    parts = 1
  }
}
