// A TOML 1.0 parser written for gateway.conf.
//
// Why not TOMLKit (in Package.swift): it wraps toml++, whose tables are std::map — key order is
// lost (a plugin's [plugins.config] must reach the plugin in file order) — and its Swift API gives
// no line/column for a key or value, so "unknown key at 12:3" would need a second scanner that
// re-derives TOML's table/dotted-key rules anyway. It also leaks every parsed table. Parsing the
// whole language here is about as much code as that scanner, and one parser is one source of truth.
//
// Coverage: comments, bare/quoted/dotted keys, all four string forms with escapes, integers
// (decimal, 0x, 0o, 0b, underscores), floats (incl. inf/nan), booleans, date-times (kept as
// written), arrays, inline tables, [tables] and [[arrays of tables]], with TOML's rules against
// defining a key or table twice. Syntax errors are collected per statement: after one, the parser
// skips to the next line and goes on, so one run reports every broken line.

struct TOMLParser {
    let bytes: [UInt8]
    var index = 0
    var line = 1
    var column = 1
    let fileName: String
    private(set) var errors: [ConfigError] = []
    /// Arrays and inline tables open inside one another; the parser recurses for each, so a
    /// hostile "[[[[[…" must stop with an error long before the stack runs out.
    var nesting = 0
    static let maximumNesting = 64

    struct SyntaxError: Error {
        var code = "config.syntax"
        var message: String
        var position: SourcePosition
    }

    init(text: String, fileName: String) {
        // Editors on Windows may start the file with a UTF-8 byte-order mark; it is not content.
        let utf8 = Array(text.utf8)
        self.bytes = utf8.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(utf8.dropFirst(3)) : utf8
        self.fileName = fileName
    }

    /// Parses the whole text. The root table is returned even when errors were found, so the
    /// caller can decide whether to go on; `errors` holds syntax and duplicate-definition errors.
    static func parse(_ text: String, fileName: String) -> (root: TOMLTable, errors: [ConfigError]) {
        var parser = TOMLParser(text: text, fileName: fileName)
        let root = parser.parseDocument()
        return (root, parser.errors)
    }

    // MARK: Document structure

    mutating func parseDocument() -> TOMLTable {
        let root = TOMLTable(origin: .root, position: SourcePosition(line: 1, column: 1))
        var current = root
        while true {
            skipWhitespaceCommentsAndNewlines()
            guard let byte = peek() else { break }
            do throws(SyntaxError) {
                if byte == UInt8(ascii: "[") {
                    current = try parseTableHeader(root: root)
                } else {
                    try parseKeyValue(into: current)
                }
                try expectEndOfLine()
            } catch {
                errors.append(ConfigError(error.code, error.message, at: error.position, fileName: fileName))
                skipRestOfLine()
            }
        }
        return root
    }

    mutating func parseTableHeader(root: TOMLTable) throws(SyntaxError) -> TOMLTable {
        let start = position
        advance()
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { advance() }
        skipSpaces()
        let path = try parseKey()
        skipSpaces()
        try expect("]", "expected ']' to close the table header")
        if isArray { try expect("]", "expected ']]' to close the array-of-tables header") }

        var table = root
        for (key, keyPosition) in path.dropLast() {
            table = try descend(from: table, into: key, at: keyPosition, creating: .implicit)
        }
        let (last, lastPosition) = path[path.count - 1]
        let dotted = path.map(\.key).joined(separator: ".")
        if isArray {
            let fresh = TOMLTable(origin: .header, position: start)
            switch table[last]?.value.value {
            case nil:
                table.insert(last, .init(value: TOMLNode(value: .tableArray([fresh]), position: start),
                                         keyPosition: lastPosition))
            case .tableArray(var tables)?:
                tables.append(fresh)
                var item = table[last]!
                item.value.value = .tableArray(tables)
                table.insert(last, item)
            default:
                throw duplicate("'\(dotted)' is already defined as a value; it cannot become an array of tables",
                                at: lastPosition)
            }
            return fresh
        }
        switch table[last]?.value.value {
        case nil:
            let fresh = TOMLTable(origin: .header, position: start)
            table.insert(last, .init(value: TOMLNode(value: .table(fresh), position: start), keyPosition: lastPosition))
            return fresh
        case .table(let existing)? where existing.origin == .implicit:
            // [a.b] came first and created [a] on the way; [a] may now be defined once.
            existing.origin = .header
            existing.position = start
            return existing
        default:
            throw duplicate("table [\(dotted)] is defined twice", at: lastPosition)
        }
    }

    /// Steps into `key` of `table` for a header or dotted key, creating an intermediate table
    /// when it does not exist. The last table of an array of tables is the one extended.
    mutating func descend(from table: TOMLTable, into key: String, at keyPosition: SourcePosition,
                                  creating origin: TOMLTable.Origin) throws(SyntaxError) -> TOMLTable {
        switch table[key]?.value.value {
        case nil:
            let fresh = TOMLTable(origin: origin, position: keyPosition)
            table.insert(key, .init(value: TOMLNode(value: .table(fresh), position: keyPosition), keyPosition: keyPosition))
            return fresh
        case .table(let existing)?:
            if existing.origin == .inline {
                throw duplicate("'\(key)' is an inline table, which cannot be extended", at: keyPosition)
            }
            if origin == .dotted && existing.origin == .header {
                throw duplicate("table '\(key)' was defined by a header; dotted keys cannot add to it here",
                                at: keyPosition)
            }
            return existing
        case .tableArray(let tables)? where origin == .implicit:
            return tables[tables.count - 1]
        default:
            throw duplicate("'\(key)' is already defined as a value, not a table", at: keyPosition)
        }
    }

    mutating func parseKeyValue(into table: TOMLTable) throws(SyntaxError) {
        let path = try parseKey()
        skipSpaces()
        try expect("=", "expected '=' after the key")
        skipSpaces()
        let value = try parseValue()
        var target = table
        for (key, keyPosition) in path.dropLast() {
            target = try descend(from: target, into: key, at: keyPosition, creating: .dotted)
        }
        let (last, lastPosition) = path[path.count - 1]
        if target[last] != nil {
            throw duplicate("key '\(path.map(\.key).joined(separator: "."))' is defined twice", at: lastPosition)
        }
        target.insert(last, .init(value: value, keyPosition: lastPosition))
    }

    // MARK: Keys

    mutating func parseKey() throws(SyntaxError) -> [(key: String, position: SourcePosition)] {
        var parts: [(key: String, position: SourcePosition)] = []
        while true {
            let start = position
            guard let byte = peek() else { throw syntax("expected a key", at: start) }
            let key: String
            switch byte {
            case UInt8(ascii: "\""): key = try parseBasicString()
            case UInt8(ascii: "'"): key = try parseLiteralString()
            default:
                var scalars: [UInt8] = []
                while let next = peek(), Self.isBareKeyByte(next) {
                    scalars.append(next)
                    advance()
                }
                if scalars.isEmpty { throw syntax("expected a key, found \(describe(byte))", at: start) }
                key = String(decoding: scalars, as: UTF8.self)
            }
            parts.append((key, start))
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { return parts }
            advance()
            skipSpaces()
        }
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    // MARK: Whitespace, comments, line ends

    mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    mutating func skipComment() {
        guard peek() == UInt8(ascii: "#") else { return }
        while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
    }

    mutating func skipWhitespaceCommentsAndNewlines() {
        while true {
            skipSpaces()
            skipComment()
            if peek() == UInt8(ascii: "\n") {
                advance()
            } else if matches("\r\n") {
                advance(2)
            } else {
                return
            }
        }
    }

    mutating func expectEndOfLine() throws(SyntaxError) {
        skipSpaces()
        skipComment()
        if peek() == nil || peek() == UInt8(ascii: "\n") || matches("\r\n") { return }
        throw syntax("unexpected \(describe(peek())) after the statement; expected the end of the line", at: position)
    }

    mutating func skipRestOfLine() {
        while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
    }

    mutating func expect(_ character: Unicode.Scalar, _ message: String) throws(SyntaxError) {
        guard peek() == UInt8(ascii: character) else {
            throw syntax("\(message), found \(describe(peek()))", at: position)
        }
        advance()
    }

    // MARK: Cursor

    var position: SourcePosition { SourcePosition(line: line, column: column) }
    /// Position of the byte just consumed (for errors about it).
    var lastPosition: SourcePosition { SourcePosition(line: line, column: max(1, column - 1)) }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    func matches(_ text: String) -> Bool {
        let pattern = Array(text.utf8)
        return index + pattern.count <= bytes.count && bytes[index..<index + pattern.count].elementsEqual(pattern)
    }

    mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
    }

    func describe(_ byte: UInt8?) -> String {
        guard let byte else { return "the end of the file" }
        if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return "the end of the line" }
        if byte < 0x20 || byte == 0x7F { return "U+" + String(byte, radix: 16, uppercase: true) }
        if byte >= 0x80 { return "a non-ASCII character" }
        return "'\(Character(Unicode.Scalar(byte)))'"
    }

    func syntax(_ message: String, at position: SourcePosition) -> SyntaxError {
        SyntaxError(message: message, position: position)
    }

    func duplicate(_ message: String, at position: SourcePosition) -> SyntaxError {
        SyntaxError(code: "config.duplicate_key", message: message, position: position)
    }
}
