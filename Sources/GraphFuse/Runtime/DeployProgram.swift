/// One program of a deployed library: the model at one batch size (0: fixed shapes), its kernel
/// plan (symbols made unique across programs), arena offsets and weight offsets in floats.
struct DeployProgram {
  var batch: Int
  var graph: Graph
  var plan: KernelPlan
  var memory: MemoryPlan
  var weightOffsets: [Int?]
}
