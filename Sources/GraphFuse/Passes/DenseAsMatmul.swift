/// A dense layer applied to the rows of a higher-rank tensor, `reshape(X → [M, K]) → gemm →
/// reshape(→ [..., N])` (how PyTorch's TorchScript exporter writes GPT-2's `Conv1D` and many
/// `nn.Linear` calls), becomes `matmul(X, B) + C` on `X` itself: the matmul flattens its rows
/// without a copy, and the bias and whatever elementwise tail follows the second reshape (GELU,
/// residual add) fuse into its epilogue instead of running as a separate pass over the output.
/// `alpha`, `beta` and `transB` fold into the constants. ONNX Runtime's `MatMulAddFusion` does the
/// reverse rewrite (into its `Gemm` kernel); TVM's Relay `dense` takes the 2-d form only.
let denseAsMatmulPass = Pass("denseAsMatmul") { (ctx: inout PassContext) in
  var graph = ctx.graph
  let consumers = graph.consumers()
  for g in graph.nodes.ids where graph.nodes[g].op == "gemm" {
    let gemm = graph.nodes[g]
    let a = gemm.attributes
    guard !a.bool("transA", default: false), let b = graph.constant(gemm.inputs[1]), b.rank == 2,
      let r1 = graph.producer(of: gemm.inputs[0]), graph.nodes[r1].op == "reshape"
    else { continue }
    var x = graph.nodes[r1].inputs[0]
    let transB = a.bool("transB", default: false)
    let (k, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    let out = gemm.outputs[0]
    guard !graph.isOutput(out), consumers[out.index].count == 1, let r2 = consumers[out.index].first,
      graph.nodes[r2].op == "reshape"
    else { continue }
    let target = graph.shape(of: graph.nodes[r2].outputs[0])
    guard target.count >= 3, target.last == n else { continue }
    let rows = Array(target.dropLast())
    if graph.shape(of: x) != rows + [k] {
      // X has another shape ([1, 128, 12, 64] merged into rows of 768): when the first reshape
      // feeds only the gemm, it reshapes X to the rows' shape instead.
      let flat = gemm.inputs[0]
      guard consumers[flat.index].count == 1, !graph.isOutput(flat) else { continue }
      graph.nodes[r1].attributes["shape"] = .ints(rows + [k])
      graph.values[flat].shape = rows + [k]
      x = flat
    }
    var bias: Tensor? = nil
    if gemm.inputs.count > 2 {
      guard let c = graph.constant(gemm.inputs[2]), c.count == n || c.count == 1 else { continue }
      let beta = Float(a.float("beta", default: 1))
      bias = Tensor(
        shape: [n], data: c.count == n ? c.data.map { $0 * beta } : [Float](repeating: c.data[0] * beta, count: n))
    }
    let alpha = Float(a.float("alpha", default: 1))
    var weights = [Float](repeating: 0, count: k * n)
    for p in 0..<k {
      for j in 0..<n { weights[p * n + j] = alpha * (transB ? b.data[j * k + p] : b.data[p * n + j]) }
    }
    let w = graph.addConstant(Tensor(shape: [k, n], data: weights), name: gemm.name + "/weight")
    graph.nodes[g] = Node(name: gemm.name, op: "matmul", inputs: [x, w], outputs: [out])
    graph.values[out].shape = rows + [n]
    let reshape = graph.nodes[r2]
    if let bias {
      let c = graph.addConstant(bias, name: gemm.name + "/bias")
      graph.nodes[r2] = Node(name: reshape.name, op: "add", inputs: [out, c], outputs: reshape.outputs)
    } else {
      graph.nodes[r2] = Node(name: reshape.name, op: "identity", inputs: [out], outputs: reshape.outputs)
    }
  }
  ctx.graph = graph
}
