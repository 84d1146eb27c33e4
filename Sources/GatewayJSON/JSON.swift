// Swift access to jansson values — the JSON type that crosses the plugin ABI.
//
// Two types:
//   JSON      owns one reference to a json_t (json_decref on deinit). Use it to keep a value.
//   JSONView  borrows a json_t without touching its reference count: reading a large event in a
//             plugin hook costs no copy and no allocation. Valid only while its owner lives.
//
// Values shared between threads must be treated as read-only: jansson is thread-safe for reads
// and reference counts only. Build a value, then share it; never mutate a shared one.
import CJansson
import CJSONDump
import CJSONLoad

public typealias JSONPointer = UnsafeMutablePointer<json_t>

public struct JSONError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let line: Int
    public let column: Int
    public var description: String { line > 0 ? "\(message) (line \(line), column \(column))" : message }
}

// @unchecked: jansson is thread-safe for reads and reference counts; a value is mutated only by
// the one caller that built it, before it is shared (see above).
public final class JSON: @unchecked Sendable {
    public let pointer: JSONPointer

    /// Takes over one reference (e.g. the result of json_object(), json_loads(), a hook's *_out).
    public init(owning pointer: JSONPointer) { self.pointer = pointer }

    /// Adds a reference to a borrowed value so it can outlive the call that lent it.
    public init(retaining pointer: JSONPointer) {
        self.pointer = pointer
        json_incref(pointer)
    }

    deinit { json_decref(pointer) }

    /// A view that keeps this value alive for as long as the view (or any view derived from it)
    /// exists, so `try JSON.parse(text).view["key"]` is safe.
    public var view: JSONView { JSONView(pointer, owner: self) }

    /// Parses a JSON document: a top-level scalar is accepted (JSON_DECODE_ANY), a duplicate key
    /// is not (JSON_REJECT_DUPLICATES); callers decide what shape they need. Read by the
    /// gateway's own loader (Sources/CJSONLoad, a third of json_loadb's cost), which builds the
    /// values json_loadb would and leaves everything else to json_loadb: errors, reals, very deep
    /// documents. So the value, the errors and their messages are jansson's.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSON {
        if let start = bytes.baseAddress, let value = gw_json_load_fast(start.assumingMemoryBound(to: CChar.self), bytes.count) {
            return JSON(owning: value)
        }
        return try parseWithJansson(bytes)
    }

    /// Parses with jansson's json_loadb alone (same flags as `parse`): what `parse` is compared
    /// with (JSONParsingTests, the FuzzEventNormalizer target).
    public static func parseWithJansson(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSON {
        var error = json_error_t()
        var empty: CChar = 0
        let flags = Int(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)
        let value = withUnsafePointer(to: &empty) { emptyPointer in
            json_loadb(bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? emptyPointer, bytes.count, flags, &error)
        }
        guard let value else {
            throw JSONError(message: Self.text(of: &error), line: Int(error.line), column: Int(error.column))
        }
        return JSON(owning: value)
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSON {
        var result: Result<JSON, JSONError>!
        bytes.withUnsafeBytes { raw in
            do throws(JSONError) { result = .success(try parse(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    public static func parseWithJansson(_ bytes: [UInt8]) throws(JSONError) -> JSON {
        var result: Result<JSON, JSONError>!
        bytes.withUnsafeBytes { raw in
            do throws(JSONError) { result = .success(try parseWithJansson(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    public static func parse(_ text: String) throws(JSONError) -> JSON {
        try parse(Array(text.utf8))
    }

    private static func text(of error: inout json_error_t) -> String {
        withUnsafeBytes(of: &error.text) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// Compact UTF-8 encoding with keys in insertion order.
    public func encoded() -> [UInt8] { view.encoded() }
    public func encodedString() -> String { String(decoding: encoded(), as: UTF8.self) }

    /// A deep copy this caller may mutate.
    public func deepCopy() -> JSON { JSON(owning: json_deep_copy(pointer)) }

    // MARK: Building values

    public static func object() -> JSON { JSON(owning: json_object()) }
    public static func array() -> JSON { JSON(owning: json_array()) }
    public static func string(_ value: String) -> JSON {
        JSON(owning: value.withCString { json_stringn($0, value.utf8.count) } ?? json_string(""))
    }
    public static func integer(_ value: Int) -> JSON { JSON(owning: json_integer(json_int_t(value))) }
    public static func number(_ value: Double) -> JSON { JSON(owning: json_real(value)) }
    public static func bool(_ value: Bool) -> JSON { JSON(owning: value ? json_true() : json_false()) }
    public static func null() -> JSON { JSON(owning: json_null()) }

    public static func strings(_ values: [String]) -> JSON {
        let array = JSON.array()
        for value in values { array.append(.string(value)) }
        return array
    }

    /// Sets `key` on an object this caller owns exclusively (not yet shared with other threads).
    public func set(_ key: String, _ value: JSON) {
        // withCString, not the implicit String → pointer conversion: for the short keys events
        // use (small strings, not NUL-terminated in memory) that conversion allocates a copy.
        _ = key.withCString { json_object_set(pointer, $0, value.pointer) }
    }

    public func set(_ key: String, _ value: String) { set(key, .string(value)) }

    public func remove(_ key: String) { _ = key.withCString { json_object_del(pointer, $0) } }

    /// Appends to an array this caller owns exclusively.
    public func append(_ value: JSON) { _ = json_array_append(pointer, value.pointer) }
}

/// A borrowed, read-only view of a json_t. No reference is taken.
// @unchecked: a read-only view (see JSON); its owner, when it has one, keeps the value alive.
public struct JSONView: @unchecked Sendable {
    public let pointer: JSONPointer?
    /// The owning value when the view came from a `JSON` (kept alive by the view); nil for views
    /// of borrowed pointers, such as a plugin hook's arguments, which cost no reference counting.
    private let owner: JSON?

    public init(_ pointer: JSONPointer?) { self.pointer = pointer; self.owner = nil }
    public init(_ pointer: UnsafePointer<json_t>?) {
        self.pointer = pointer.map { UnsafeMutablePointer(mutating: $0) }
        self.owner = nil
    }
    init(_ pointer: JSONPointer?, owner: JSON?) {
        self.pointer = pointer
        self.owner = owner
    }

    public enum Kind: Sendable { case object, array, string, integer, real, bool, null, missing }

    public var kind: Kind {
        guard let pointer else { return .missing }
        switch pointer.pointee.type {
        case JSON_OBJECT: return .object
        case JSON_ARRAY: return .array
        case JSON_STRING: return .string
        case JSON_INTEGER: return .integer
        case JSON_REAL: return .real
        case JSON_TRUE, JSON_FALSE: return .bool
        default: return .null
        }
    }

    public var exists: Bool { pointer != nil }
    public var isNull: Bool { kind == .null }
    public var isObject: Bool { kind == .object }
    public var isArray: Bool { kind == .array }

    public subscript(key: String) -> JSONView {
        guard let pointer, kind == .object else { return JSONView(nil as JSONPointer?) }
        return JSONView(key.withCString { json_object_get(pointer, $0) }, owner: owner)
    }

    public subscript(index: Int) -> JSONView {
        guard let pointer, kind == .array, index >= 0 else { return JSONView(nil as JSONPointer?) }
        return JSONView(json_array_get(pointer, index), owner: owner)
    }

    public var string: String? {
        guard let pointer, kind == .string, let chars = json_string_value(pointer) else { return nil }
        let length = json_string_length(pointer)
        return chars.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    public var int: Int? {
        guard let pointer, kind == .integer else { return nil }
        return Int(json_integer_value(pointer))
    }

    public var double: Double? {
        guard let pointer else { return nil }
        switch kind {
        case .integer, .real: return json_number_value(pointer)
        default: return nil
        }
    }

    public var bool: Bool? {
        guard let pointer, kind == .bool else { return nil }
        return pointer.pointee.type == JSON_TRUE
    }

    /// Number of elements of an array or keys of an object; 0 otherwise.
    public var count: Int {
        guard let pointer else { return 0 }
        switch kind {
        case .array: return json_array_size(pointer)
        case .object: return json_object_size(pointer)
        default: return 0
        }
    }

    public var elements: [JSONView] {
        guard kind == .array, let pointer else { return [] }
        return (0..<json_array_size(pointer)).map { JSONView(json_array_get(pointer, $0), owner: owner) }
    }

    /// An array of strings, or nil when this is not an array or any element is not a string.
    public var strings: [String]? {
        guard kind == .array, let pointer else { return nil }
        let count = json_array_size(pointer)
        var result: [String] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let text = JSONView(json_array_get(pointer, index)).string else { return nil }
            result.append(text)
        }
        return result
    }

    /// Key/value pairs of an object, in insertion order.
    public var members: [(key: String, value: JSONView)] {
        guard kind == .object, let pointer else { return [] }
        var result: [(key: String, value: JSONView)] = []
        var iterator = json_object_iter(pointer)
        while let current = iterator {
            let key = String(cString: json_object_iter_key(current))
            result.append((key, JSONView(json_object_iter_value(current), owner: owner)))
            iterator = json_object_iter_next(pointer, current)
        }
        return result
    }

    /// Takes a reference so the value can be kept beyond the lender's lifetime.
    public func retained() -> JSON? { pointer.map { JSON(retaining: $0) } }

    /// Compact UTF-8, keys in insertion order: json_dumpb's output, written by the gateway's own
    /// encoder (Sources/CJSONDump: no loop-detection table, no callback per token) straight into
    /// the array's storage; a document larger than the first guess is dumped again into a buffer
    /// of its exact size.
    public func encoded() -> [UInt8] {
        guard let pointer else { return Array("null".utf8) }
        var needed = 0
        let guess = 512
        let first = [UInt8](unsafeUninitializedCapacity: guess) { buffer, count in
            needed = buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: guess) {
                gw_json_dump_compact(pointer, $0, guess)
            }
            count = needed <= guess ? needed : 0
        }
        if needed <= guess { return first }
        return [UInt8](unsafeUninitializedCapacity: needed) { buffer, count in
            let written = buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: needed) {
                gw_json_dump_compact(pointer, $0, needed)
            }
            count = written == needed ? written : 0
        }
    }

    public func encodedString() -> String { String(decoding: encoded(), as: UTF8.self) }
}
