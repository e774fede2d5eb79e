import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

@Suite("ONNX external data")
struct ExternalDataTests {
  @Test func weightsComeFromTheDataFileAtTheirOffsets() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("external_weights.onnx"))
    let data = try Fixtures.bytes("external_weights.onnx.data")
    var found = 0
    for id in graph.constants.keys.sorted() {
      let tensor = try #require(graph.constant(id))
      // Every constant's float32 bytes appear verbatim somewhere in the data file.
      let bytes = tensor.data.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
      let hit = (0...(data.count - bytes.count)).contains { data[$0..<($0 + bytes.count)].elementsEqual(bytes) }
      #expect(hit, "constant \(graph.values[id].name) is not in the data file")
      found += 1
    }
    #expect(found == 4)
  }

  @Test func bytesWithoutAPathCannotReadExternalData() throws {
    let error = #expect(throws: GraphFuseError.self) {
      _ = try ONNXImporter.load(data: try Fixtures.bytes("external_weights.onnx"), name: "m.onnx")
    }
    #expect(error?.description.contains("needs the model's path") == true, "\(String(describing: error))")
  }

  @Test func aCopiedModelWithoutItsDataFileIsAOneLineError() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gf-external-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let copy = folder.appendingPathComponent("external_weights.onnx")
    try Data(try Fixtures.bytes("external_weights.onnx")).write(to: copy)
    let error = #expect(throws: GraphFuseError.self) { _ = try ONNXImporter.load(path: copy.path) }
    let text = error?.description ?? ""
    #expect(text.contains("'external_weights.onnx.data' is missing"), "\(text)")
    #expect(!text.contains("\n"))
    // A truncated data file is reported as short, not read past its end.
    let data = try Fixtures.bytes("external_weights.onnx.data")
    try Data(data.prefix(data.count - 8)).write(to: folder.appendingPathComponent("external_weights.onnx.data"))
    let short = #expect(throws: GraphFuseError.self) { _ = try ONNXImporter.load(path: copy.path) }
    #expect(short?.description.contains("too short") == true, "\(String(describing: short))")
  }
}
