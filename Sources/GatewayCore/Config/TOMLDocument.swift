// The parsed form of a TOML file before it becomes a GatewayConfig: every key and value keeps
// the line and column where it was written, and every table keeps its keys in file order.
// Both are what TOMLKit cannot give (see TOMLParser.swift for why the parser is our own).

/// A 1-based place in the source text. Columns count Unicode scalars, as editors do.
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "\(line):\(column)" }
}

/// A TOML table. A class because table headers (`[a.b]`, `[[a]]`) reopen tables created
/// earlier in the file, and the parser must mutate the one instance they all refer to.
final class TOMLTable {
    /// How the table came into existence; decides whether a later header or dotted key may
    /// add to it (TOML forbids defining the same table twice).
    enum Origin { case root, implicit, header, dotted, inline }

    struct Item {
        var value: TOMLNode
        var keyPosition: SourcePosition
    }

    var origin: Origin
    /// Where the table was opened: its header, its first dotted key, or its `{`.
    var position: SourcePosition
    private(set) var keys: [String] = []
    private(set) var items: [String: Item] = [:]

    init(origin: Origin, position: SourcePosition) {
        self.origin = origin
        self.position = position
    }

    subscript(key: String) -> Item? { items[key] }

    /// Entries in file order.
    var entries: [(key: String, item: Item)] { keys.map { ($0, items[$0]!) } }

    func insert(_ key: String, _ item: Item) {
        if items[key] == nil { keys.append(key) }
        items[key] = item
    }
}

/// A value with the position of its first character.
struct TOMLNode {
    var value: TOMLValue
    var position: SourcePosition
}

enum TOMLValue {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    /// Offset/local date-times, dates and times, kept as written: nothing in gateway.conf needs
    /// date arithmetic, and a plugin receives them as JSON strings.
    case datetime(String)
    case array([TOMLNode])
    case table(TOMLTable)
    /// `[[name]]` blocks. Kept apart from `array` because only these may be extended by headers.
    case tableArray([TOMLTable])

    /// The TOML type name used in "must be X, got Y" messages.
    var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a float"
        case .bool: return "a boolean"
        case .datetime: return "a date-time"
        case .array: return "an array"
        case .table: return "a table"
        case .tableArray: return "an array of tables"
        }
    }

    /// Conversion for plugin config tables, keeping key order.
    var configValue: ConfigValue {
        switch self {
        case .string(let text), .datetime(let text): return .string(text)
        case .integer(let number): return .integer(number)
        case .float(let number): return .float(number)
        case .bool(let flag): return .bool(flag)
        case .array(let nodes): return .array(nodes.map(\.value.configValue))
        case .table(let table): return table.configValue
        case .tableArray(let tables): return .array(tables.map(\.configValue))
        }
    }
}

extension TOMLTable {
    var configValue: ConfigValue { .table(configEntries) }
    var configEntries: [(key: String, value: ConfigValue)] {
        entries.map { ($0.key, $0.item.value.value.configValue) }
    }
}
