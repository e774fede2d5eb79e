import Testing

@testable import GraphFuse

/// The reference executor's fast matmul, gemm, conv2d and conv_transpose2d kernels (``ReferenceGEMM``,
/// ``ReferenceConvolution``) against naive loops written here, over odd sizes, broadcasting,
/// transposes, groups, strides, dilations and asymmetric pads.
@Suite struct ReferenceKernelTests {
  /// Whether `actual` is within 1e-5 of `expected`'s largest magnitude, shapes included.
  static func matches(_ actual: Tensor, _ expected: Tensor) -> Bool {
    actual.compared(to: expected).isWithin(relative: 1e-5, absolute: 1e-6)
  }

  // MARK: Naive loops

  /// `[batch…, m, k] · [batch…, k, n]` with the batch axes broadcast, summed in Double.
  static func naiveMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let a2 = a.rank == 1 ? [1] + a.shape : a.shape, b2 = b.rank == 1 ? b.shape + [1] : b.shape
    let (m, k, n) = (a2[a2.count - 2], a2[a2.count - 1], b2[b2.count - 1])
    let aBatch = Array(a2.dropLast(2)), bBatch = Array(b2.dropLast(2))
    let rank = max(aBatch.count, bBatch.count)
    let aPadded = Array(repeating: 1, count: rank - aBatch.count) + aBatch
    let bPadded = Array(repeating: 1, count: rank - bBatch.count) + bBatch
    let batch = zip(aPadded, bPadded).map { max($0, $1) }
    var data: [Float] = []
    for flat in 0..<batch.reduce(1, *) {
      var index = [Int](repeating: 0, count: rank), rem = flat
      for axis in stride(from: rank - 1, through: 0, by: -1) {
        index[axis] = rem % batch[axis]
        rem /= batch[axis]
      }
      var aOffset = 0, bOffset = 0
      for axis in 0..<rank {
        aOffset = aOffset * aPadded[axis] + (aPadded[axis] == 1 ? 0 : index[axis])
        bOffset = bOffset * bPadded[axis] + (bPadded[axis] == 1 ? 0 : index[axis])
      }
      for i in 0..<m {
        for j in 0..<n {
          var sum = 0.0
          for p in 0..<k {
            sum += Double(a.data[aOffset * m * k + i * k + p]) * Double(b.data[bOffset * k * n + p * n + j])
          }
          data.append(Float(sum))
        }
      }
    }
    var shape = batch
    if a.rank > 1 { shape.append(m) }
    if b.rank > 1 { shape.append(n) }
    return Tensor(shape: shape, data: data)
  }

  /// `alpha · A' · B' + beta · C` with C of shape `[m, n]`, `[n]`, `[m, 1]` or absent.
  static func naiveGemm(_ a: Tensor, _ b: Tensor, _ c: Tensor?, transA: Bool, transB: Bool, alpha: Double, beta: Double)
    -> Tensor
  {
    let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let n = transB ? b.shape[0] : b.shape[1]
    var data = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k {
          let av = transA ? a.data[p * m + i] : a.data[i * k + p]
          let bv = transB ? b.data[j * k + p] : b.data[p * n + j]
          sum += Double(av) * Double(bv)
        }
        var cv = 0.0
        if let c {
          let row = c.rank == 2 && c.shape[0] == m ? i : 0, column = c.shape.last == n ? j : 0
          cv = Double(c.data[row * (c.shape.last ?? 1) + column])
        }
        data[i * n + j] = Float(alpha * sum + beta * cv)
      }
    }
    return Tensor(shape: [m, n], data: data)
  }

  /// One convolution's window; `kernel` and the channel counts come from the weight.
  struct Conv: Sendable, CustomTestStringConvertible {
    var batch = 2
    var channels: Int, outputs: Int, height: Int, width: Int, kernel: Int
    var groups = 1
    var stride = 1
    var dilation = 1
    var pads = [0, 0, 0, 0]
    var bias = true
    var testDescription: String {
      "\(batch)x\(channels)x\(height)x\(width) -> \(outputs), k\(kernel) g\(groups) s\(stride) d\(dilation) p\(pads)"
    }
    var attributes: Attributes {
      [
        "group": .int(groups), "strides": .ints([stride, stride]), "dilations": .ints([dilation, dilation]),
        "pads": .ints(pads),
      ]
    }
  }

  /// conv2d by its definition: every output sums its window over the group's input channels.
  static func naiveConv(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ c: Conv) -> Tensor {
    let (n, ch, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, cg, k) = (w.shape[0], w.shape[1], w.shape[2])
    let span = c.dilation * (k - 1) + 1
    let oh = (h + c.pads[0] + c.pads[2] - span) / c.stride + 1, ow = (wd + c.pads[1] + c.pads[3] - span) / c.stride + 1
    var data: [Float] = []
    for b in 0..<n {
      for oc in 0..<o {
        let g = oc / (o / c.groups)
        for y in 0..<oh {
          for xo in 0..<ow {
            var sum = Double(bias?.data[oc] ?? 0)
            for ic in 0..<cg {
              for ky in 0..<k {
                for kx in 0..<k {
                  let iy = y * c.stride + ky * c.dilation - c.pads[0]
                  let ix = xo * c.stride + kx * c.dilation - c.pads[1]
                  guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                  sum +=
                    Double(x.data[((b * ch + g * cg + ic) * h + iy) * wd + ix])
                    * Double(w.data[((oc * cg + ic) * k + ky) * k + kx])
                }
              }
            }
            data.append(Float(sum))
          }
        }
      }
    }
    return Tensor(shape: [n, o, oh, ow], data: data)
  }

  /// conv_transpose2d by its definition: every input scatters `value · weight` into its window.
  static func naiveConvTranspose(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ c: Conv) -> Tensor {
    let (n, ch, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (og, k) = (w.shape[1], w.shape[2])
    let o = og * c.groups, cg = ch / c.groups
    let oh = (h - 1) * c.stride - c.pads[0] - c.pads[2] + c.dilation * (k - 1) + 1
    let ow = (wd - 1) * c.stride - c.pads[1] - c.pads[3] + c.dilation * (k - 1) + 1
    var acc = [Double](repeating: 0, count: n * o * oh * ow)
    for b in 0..<n {
      for ic in 0..<ch {
        for j in 0..<og {
          let oc = ic / cg * og + j
          for iy in 0..<h {
            for ix in 0..<wd {
              for ky in 0..<k {
                for kx in 0..<k {
                  let y = iy * c.stride - c.pads[0] + ky * c.dilation
                  let xo = ix * c.stride - c.pads[1] + kx * c.dilation
                  guard y >= 0, y < oh, xo >= 0, xo < ow else { continue }
                  acc[((b * o + oc) * oh + y) * ow + xo] +=
                    Double(x.data[((b * ch + ic) * h + iy) * wd + ix])
                    * Double(w.data[((ic * og + j) * k + ky) * k + kx])
                }
              }
            }
          }
        }
      }
    }
    let plane = oh * ow
    let data = acc.indices.map { Float(acc[$0] + Double(bias?.data[($0 / plane) % o] ?? 0)) }
    return Tensor(shape: [n, o, oh, ow], data: data)
  }

  // MARK: Matrix products

  static let sizes: [(m: Int, k: Int, n: Int)] = [1, 3, 17, 197].flatMap { m in
    [1, 5, 33].flatMap { k in [1, 7, 31, 65].map { n in (m, k, n) } }
  }

  @Test func matmulOverOddSizes() throws {
    for (i, s) in Self.sizes.enumerated() {
      let a = Tensor.random(shape: [s.m, s.k], seed: UInt64(2 * i))
      let b = Tensor.random(shape: [s.k, s.n], seed: UInt64(2 * i + 1))
      let got = try runOp("matmul", [a, b])[0]
      #expect(Self.matches(got, Self.naiveMatmul(a, b)), "matmul \(s)")
    }
  }

  static let batchedShapes: [([Int], [Int])] = [
    ([12, 197, 64], [12, 64, 197]),  // attention scores
    ([2, 3, 17, 33], [33, 65]),  // a shared weight
    ([3, 1, 5, 7], [1, 4, 7, 31]),  // both batch axes broadcast
    ([33], [2, 33, 7]),  // a vector times a batch of matrices
    ([2, 17, 33], [33]),  // a batch of matrices times a vector
    ([65], [65]),  // a dot product
    ([1, 197, 768], [768, 65]),  // a ViT-shaped linear layer
    ([9, 1, 33], [33, 31]),  // a linear layer on [L, N, E]: one product of 9 rows
    ([17, 33], [3, 33, 7]),  // a shared A times a batch of B
  ]

  @Test(arguments: batchedShapes.indices) func matmulBatchedAndBroadcast(_ c: Int) throws {
    let (sa, sb) = Self.batchedShapes[c]
    let a = Tensor.random(shape: sa, seed: 7), b = Tensor.random(shape: sb, seed: 8)
    let got = try runOp("matmul", [a, b])[0]
    #expect(Self.matches(got, Self.naiveMatmul(a, b)), "\(sa) · \(sb)")
  }

  @Test(arguments: [false, true], [false, true]) func gemmTransposedWithAlphaBeta(_ transA: Bool, _ transB: Bool) throws
  {
    for (i, s) in Self.sizes.enumerated() where i % 3 == 0 || s.m == 197 {
      let a = Tensor.random(shape: transA ? [s.k, s.m] : [s.m, s.k], seed: UInt64(3 * i))
      let b = Tensor.random(shape: transB ? [s.n, s.k] : [s.k, s.n], seed: UInt64(3 * i + 1))
      let cShapes: [[Int]?] = [nil, [s.m, s.n], [s.n], [s.m, 1]]
      let c = cShapes[i % 4].map { Tensor.random(shape: $0, seed: UInt64(3 * i + 2)) }
      let (alpha, beta) = i % 2 == 0 ? (1.0, 1.0) : (0.75, -1.5)
      let attributes: Attributes = [
        "transA": .int(transA ? 1 : 0), "transB": .int(transB ? 1 : 0), "alpha": .float(alpha), "beta": .float(beta),
      ]
      let got = try runOp("gemm", [a, b] + (c.map { [$0] } ?? []), attributes)[0]
      let want = Self.naiveGemm(a, b, c, transA: transA, transB: transB, alpha: alpha, beta: beta)
      #expect(Self.matches(got, want), "gemm \(s) transA \(transA) transB \(transB) C \(c?.shape ?? [])")
    }
  }

  // MARK: Convolutions

  static let convs: [Conv] = [
    Conv(channels: 3, outputs: 8, height: 9, width: 11, kernel: 3, pads: [1, 1, 1, 1]),
    Conv(channels: 8, outputs: 16, height: 7, width: 5, kernel: 1, bias: false),  // pointwise: no im2col
    Conv(channels: 8, outputs: 12, height: 9, width: 9, kernel: 1, stride: 2),
    Conv(channels: 3, outputs: 10, height: 23, width: 19, kernel: 7, stride: 2, pads: [3, 3, 3, 3]),
    Conv(channels: 6, outputs: 8, height: 10, width: 9, kernel: 3, groups: 2, pads: [0, 1, 2, 1]),
    Conv(channels: 8, outputs: 8, height: 12, width: 13, kernel: 3, groups: 8, stride: 2, pads: [1, 0, 1, 2]),
    Conv(channels: 4, outputs: 8, height: 9, width: 9, kernel: 3, groups: 4, pads: [1, 1, 1, 1]),  // multiplier 2
    Conv(channels: 5, outputs: 7, height: 13, width: 12, kernel: 3, dilation: 2, pads: [2, 1, 0, 3]),
    Conv(channels: 6, outputs: 6, height: 11, width: 11, kernel: 3, groups: 6, dilation: 2, pads: [2, 2, 2, 2]),
    Conv(channels: 4, outputs: 9, height: 8, width: 8, kernel: 7, stride: 1, pads: [0, 3, 2, 1]),
    Conv(batch: 1, channels: 3, outputs: 16, height: 32, width: 32, kernel: 16, stride: 16, bias: true),  // patches
  ]

  @Test(arguments: convs) func conv2dMatchesItsDefinition(_ c: Conv) throws {
    let x = Tensor.random(shape: [c.batch, c.channels, c.height, c.width], seed: 11)
    let w = Tensor.random(shape: [c.outputs, c.channels / c.groups, c.kernel, c.kernel], seed: 12)
    let bias = c.bias ? Tensor.random(shape: [c.outputs], seed: 13) : nil
    let got = try runOp("conv2d", [x, w] + (bias.map { [$0] } ?? []), c.attributes)[0]
    let want = Self.naiveConv(x, w, bias, c)
    #expect(got.shape == want.shape)
    #expect(Self.matches(got, want), "\(got.compared(to: want))")
  }

  static let transposedConvs: [Conv] = [
    Conv(channels: 4, outputs: 6, height: 5, width: 7, kernel: 3, stride: 2, pads: [1, 1, 1, 1]),
    Conv(channels: 6, outputs: 4, height: 6, width: 5, kernel: 4, groups: 2, stride: 2, pads: [1, 0, 2, 1]),
    Conv(channels: 3, outputs: 3, height: 4, width: 4, kernel: 3, groups: 3, dilation: 2, bias: false),
    Conv(channels: 8, outputs: 5, height: 3, width: 3, kernel: 1),
  ]

  @Test(arguments: transposedConvs) func convTransposeMatchesItsDefinition(_ c: Conv) throws {
    let x = Tensor.random(shape: [c.batch, c.channels, c.height, c.width], seed: 21)
    let w = Tensor.random(shape: [c.channels, c.outputs / c.groups, c.kernel, c.kernel], seed: 22)
    let bias = c.bias ? Tensor.random(shape: [c.outputs], seed: 23) : nil
    let got = try runOp("conv_transpose2d", [x, w] + (bias.map { [$0] } ?? []), c.attributes)[0]
    let want = Self.naiveConvTranspose(x, w, bias, c)
    #expect(got.shape == want.shape)
    #expect(Self.matches(got, want), "\(got.compared(to: want))")
  }
}

/// Two-operand einsum runs as a batched product (``ReferenceEinsum``); the same equation with a third
/// operand of extent 1 (`z`, all ones) takes the generic loop and is the expected value.
@Suite struct ReferenceEinsumTests {
  static let cases: [(String, [Int], [Int])] = [
    ("bghid,bghjd->bghij", [2, 3, 2, 17, 8], [2, 3, 2, 13, 8]),  // attention scores
    ("bij,bjk->bik", [3, 7, 33], [3, 33, 5]),
    ("ij,jk->ki", [9, 6], [6, 11]),  // the output transposed
    ("i,j->ij", [7], [5]),  // outer product: nothing summed
    ("bi,bi->b", [4, 33], [4, 33]),  // batched dot products
    ("ijk,kj->i", [5, 3, 4], [4, 3]),  // two summed labels, B transposed
    ("abc,cd->dba", [2, 3, 4], [4, 5]),
  ]

  @Test(arguments: cases.indices) func batchedProductMatchesTheGenericLoop(_ c: Int) throws {
    let (equation, sa, sb) = Self.cases[c]
    let a = Tensor.random(shape: sa, seed: 31), b = Tensor.random(shape: sb, seed: 32)
    let got = try runOp("einsum", [a, b], ["equation": .string(equation)])[0]
    let sides = equation.components(separatedBy: "->")
    let generic = sides[0] + ",z->" + sides[1]
    let want = try runOp("einsum", [a, b, Tensor(shape: [1], data: [1])], ["equation": .string(generic)])[0]
    #expect(got.shape == want.shape)
    #expect(ReferenceKernelTests.matches(got, want), "\(equation): \(got.compared(to: want))")
  }
}
