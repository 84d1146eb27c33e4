import Foundation

enum ReportValue {
    case int(Int)
    case double(Double)
    case string(String)
    case null

    var json: String {
        switch self {
        case .int(let value): return String(value)
        case .double(let value): return value.isFinite ? String(format: "%.3f", value) : "null"
        case .string(let value):
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            return "\"\(escaped)\""
        case .null: return "null"
        }
    }

    var text: String {
        switch self {
        case .string(let value): return value
        case .double(let value): return String(format: "%.2f", value)
        default: return json
        }
    }
}

/// One scenario's result: printed as one JSON line (keys in insertion order, for scripts) and
/// as a two-column table (for people).
struct Report {
    private(set) var fields: [(String, ReportValue)] = []

    init(scenario: String, server: ServerKind) {
        add("scenario", .string(scenario))
        add("server", .string(server.rawValue))
    }

    mutating func add(_ key: String, _ value: ReportValue) {
        fields.append((key, value))
    }

    func value(_ key: String) -> ReportValue? { fields.first { $0.0 == key }?.1 }

    func double(_ key: String) -> Double? {
        switch value(key) {
        case .double(let number)?: return number
        case .int(let number)?: return Double(number)
        default: return nil
        }
    }

    var jsonLine: String {
        "{" + fields.map { "\"\($0.0)\":\($0.1.json)" }.joined(separator: ",") + "}"
    }

    var table: String {
        let width = fields.map(\.0.count).max() ?? 0
        return fields.map { key, value in
            key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value.text
        }.joined(separator: "\n")
    }

    func print() {
        Swift.print(jsonLine)
        Swift.print(table)
        fflush(nil)  // every C stream: stdout, where Swift.print wrote
    }
}
