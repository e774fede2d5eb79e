/// An index into one arena of the compiler (nodes, values, buffers, groups), a distinct type per arena.
///
/// Each arena's index is its own struct, so a node index cannot be passed where a value index is
/// expected. An index prints as its bare integer (`"\(id)"` is `"3"`), encodes as a JSON number,
/// and arrays of the arena's elements take it as a subscript (`graph.nodes[id]`).
public protocol TypedIndex: Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
  ExpressibleByIntegerLiteral
{
  /// The position in the arena.
  var index: Int { get }
  /// The index at `index` of the arena.
  init(_ index: Int)
}

extension TypedIndex {
  /// Orders by position.
  public static func < (a: Self, b: Self) -> Bool { a.index < b.index }
  /// The bare integer, as reports and errors print it.
  public var description: String { String(index) }
  /// An index written as a literal (tests, hand-built graphs).
  public init(integerLiteral value: Int) { self.init(value) }
  /// Decodes from a bare integer.
  public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(Int.self)) }
  /// Encodes as a bare integer.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(index)
  }
}

/// The index of a node of a graph in ``Graph/nodes`` (nodes are in topological order).
public struct NodeID: TypedIndex {
  /// The position in the graph's nodes.
  public let index: Int
  /// The node at `index` of the graph.
  public init(_ index: Int) { self.index = index }
}

/// The index of a value (tensor) of a graph in ``Graph/values``.
public struct ValueID: TypedIndex {
  /// The position in the graph's values.
  public let index: Int
  /// The value at `index` of the graph.
  public init(_ index: Int) { self.index = index }
}

/// The index of a fused group in ``FusionPlan/groups``.
public struct GroupID: TypedIndex {
  /// The position in the plan's groups.
  public let index: Int
  /// The group at `index` of the plan.
  public init(_ index: Int) { self.index = index }
}

/// The index of a buffer of a compiled model's program (an arena tensor or a packed constant).
public struct BufferID: TypedIndex {
  /// The position in the program's buffers.
  public let index: Int
  /// The buffer at `index` of the program.
  public init(_ index: Int) { self.index = index }
}

/// An element of an arena: the ``TypedIndex`` its arrays take as a subscript.
public protocol ArenaElement {
  /// The index of an element in its arena.
  associatedtype ID: TypedIndex
}

extension Array where Element: ArenaElement {
  /// The element with id `id`.
  public subscript(id: Element.ID) -> Element {
    get { self[id.index] }
    set { self[id.index] = newValue }
  }
  /// The ids of the elements, in order.
  public var ids: [Element.ID] { indices.map(Element.ID.init) }
}

extension Node: ArenaElement {
  /// Nodes are indexed by ``NodeID``.
  public typealias ID = NodeID
}

extension Value: ArenaElement {
  /// Values are indexed by ``ValueID``.
  public typealias ID = ValueID
}

extension FusedGroup: ArenaElement {
  /// Groups are indexed by ``GroupID``.
  public typealias ID = GroupID
}

extension BufferPlan: ArenaElement {
  /// Buffers are indexed by ``BufferID``.
  typealias ID = BufferID
}
