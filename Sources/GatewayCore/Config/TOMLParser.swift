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
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var column = 1
    private let fileName: String
    private(set) var errors: [ConfigError] = []
    /// Arrays and inline tables open inside one another; the parser recurses for each, so a
    /// hostile "[[[[[…" must stop with an error long before the stack runs out.
    private var nesting = 0
    static let maximumNesting = 64

    private struct SyntaxError: Error {
        var code = "config.syntax"
        var message: String
        var position: SourcePosition
    }

    init(text: String, fileName: String) {
        self.bytes = Array(text.utf8)
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

    private mutating func parseDocument() -> TOMLTable {
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

    private mutating func parseTableHeader(root: TOMLTable) throws(SyntaxError) -> TOMLTable {
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
    private mutating func descend(from table: TOMLTable, into key: String, at keyPosition: SourcePosition,
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

    private mutating func parseKeyValue(into table: TOMLTable) throws(SyntaxError) {
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

    private mutating func parseKey() throws(SyntaxError) -> [(key: String, position: SourcePosition)] {
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

    private static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    // MARK: Values

    private mutating func parseValue() throws(SyntaxError) -> TOMLNode {
        let start = position
        guard let byte = peek() else { throw syntax("expected a value", at: start) }
        if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
            guard nesting < Self.maximumNesting else {
                throw syntax("arrays and inline tables nest deeper than \(Self.maximumNesting) levels", at: start)
            }
            nesting += 1
        }
        defer { if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") { nesting -= 1 } }
        switch byte {
        case UInt8(ascii: "\""):
            if matches("\"\"\"") { return TOMLNode(value: .string(try parseMultilineBasicString()), position: start) }
            return TOMLNode(value: .string(try parseBasicString()), position: start)
        case UInt8(ascii: "'"):
            if matches("'''") { return TOMLNode(value: .string(try parseMultilineLiteralString()), position: start) }
            return TOMLNode(value: .string(try parseLiteralString()), position: start)
        case UInt8(ascii: "["):
            return TOMLNode(value: .array(try parseArray()), position: start)
        case UInt8(ascii: "{"):
            return TOMLNode(value: .table(try parseInlineTable()), position: start)
        default:
            return TOMLNode(value: try parseScalarToken(), position: start)
        }
    }

    private mutating func parseArray() throws(SyntaxError) -> [TOMLNode] {
        advance()
        var nodes: [TOMLNode] = []
        while true {
            skipWhitespaceCommentsAndNewlines()
            guard let byte = peek() else { throw syntax("unterminated array: expected ']'", at: position) }
            if byte == UInt8(ascii: "]") {
                advance()
                return nodes
            }
            nodes.append(try parseValue())
            skipWhitespaceCommentsAndNewlines()
            if peek() == UInt8(ascii: ",") {
                advance()
            } else if peek() != UInt8(ascii: "]") {
                throw syntax("expected ',' or ']' in the array", at: position)
            }
        }
    }

    private mutating func parseInlineTable() throws(SyntaxError) -> TOMLTable {
        let table = TOMLTable(origin: .dotted, position: position)
        advance()
        skipSpaces()
        if peek() == UInt8(ascii: "}") {
            advance()
            table.origin = .inline
            return table
        }
        while true {
            skipSpaces()
            try parseKeyValue(into: table)
            skipSpaces()
            guard let byte = peek() else { throw syntax("unterminated inline table: expected '}'", at: position) }
            if byte == UInt8(ascii: "}") {
                advance()
                // Frozen only now: its own dotted keys had to be able to build sub-tables.
                freeze(table)
                return table
            }
            guard byte == UInt8(ascii: ",") else {
                throw syntax("expected ',' or '}' in the inline table (inline tables are one line)", at: position)
            }
            advance()
        }
    }

    private func freeze(_ table: TOMLTable) {
        table.origin = .inline
        for (_, item) in table.entries {
            if case .table(let child) = item.value.value { freeze(child) }
        }
    }

    /// Booleans, numbers and date-times: everything that is not quoted or bracketed.
    private mutating func parseScalarToken() throws(SyntaxError) -> TOMLValue {
        let start = position
        var token: [UInt8] = []
        while let byte = peek(), !Self.endsScalar(byte) {
            token.append(byte)
            advance()
        }
        // "1979-05-27 07:32:00": a date, one space, then a time, is still one date-time.
        if Self.looksLikeDate(token), peek() == UInt8(ascii: " "), index + 1 < bytes.count,
           (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1]) {
            token.append(UInt8(ascii: " "))
            advance()
            while let byte = peek(), !Self.endsScalar(byte) {
                token.append(byte)
                advance()
            }
        }
        let text = String(decoding: token, as: UTF8.self)
        if text.isEmpty {
            throw syntax("expected a value, found \(describe(peek()))", at: start)
        }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let datetime = Self.dateTime(text) { return .datetime(datetime) }
        if let integer = try Self.integer(text, at: start) { return .integer(integer) }
        if let float = Self.float(text) { return .float(float) }
        throw syntax("'\(text)' is not a TOML value (strings need quotes)", at: start)
    }

    private static func endsScalar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"),
             UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"):
            return true
        default:
            return false
        }
    }

    private static func looksLikeDate(_ token: [UInt8]) -> Bool {
        token.count == 10 && token[4] == UInt8(ascii: "-") && token[7] == UInt8(ascii: "-")
            && token.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || isDigit($0.element) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// RFC 3339 shapes TOML allows: date, time, local and offset date-times.
    private static func dateTime(_ text: String) -> String? {
        let chars = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= chars.count && chars[range].allSatisfy(isDigit)
        }
        func isTime(from offset: Int) -> Bool {
            guard digits(offset..<offset + 2), offset + 8 <= chars.count, chars[offset + 2] == UInt8(ascii: ":"),
                  digits(offset + 3..<offset + 5), chars[offset + 5] == UInt8(ascii: ":"),
                  digits(offset + 6..<offset + 8) else { return false }
            var rest = offset + 8
            if rest < chars.count, chars[rest] == UInt8(ascii: ".") {
                rest += 1
                let fractionStart = rest
                while rest < chars.count, isDigit(chars[rest]) { rest += 1 }
                if rest == fractionStart { return false }
            }
            if rest == chars.count { return true }
            if chars[rest] == UInt8(ascii: "Z") || chars[rest] == UInt8(ascii: "z") { return rest + 1 == chars.count }
            guard chars[rest] == UInt8(ascii: "+") || chars[rest] == UInt8(ascii: "-") else { return false }
            return rest + 6 == chars.count && digits(rest + 1..<rest + 3) && chars[rest + 3] == UInt8(ascii: ":")
                && digits(rest + 4..<rest + 6)
        }
        if looksLikeDate(Array(chars.prefix(10))) {
            if chars.count == 10 { return text }
            guard chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: "t") || chars[10] == UInt8(ascii: " ") else {
                return nil
            }
            return isTime(from: 11) ? text : nil
        }
        return isTime(from: 0) && !text.contains(where: { "Zz+-".contains($0) }) ? text : nil
    }

    /// nil when the text is not shaped like an integer at all; an error when it is, but is invalid
    /// (leading zeros, misplaced underscores, too large).
    private static func integer(_ text: String, at start: SourcePosition) throws(SyntaxError) -> Int? {
        var chars = Array(text.utf8)
        var radix = 10
        var negative = false
        if chars.count > 2, chars[0] == UInt8(ascii: "0"),
           let prefixRadix = [UInt8(ascii: "x"): 16, UInt8(ascii: "o"): 8, UInt8(ascii: "b"): 2][chars[1]] {
            radix = prefixRadix
            chars.removeFirst(2)
        } else if let sign = chars.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            chars.removeFirst()
        }
        guard !chars.isEmpty else { return nil }
        let isDigitOfRadix: (UInt8) -> Bool = { byte in
            switch radix {
            case 16: return isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
            case 8: return (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte)
            case 2: return byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1")
            default: return isDigit(byte)
            }
        }
        guard chars.allSatisfy({ isDigitOfRadix($0) || $0 == UInt8(ascii: "_") }) else { return nil }
        let underscore = UInt8(ascii: "_")
        if chars.first == underscore || chars.last == underscore
            || zip(chars, chars.dropFirst()).contains(where: { $0 == underscore && $1 == underscore }) {
            throw SyntaxError(message: "'\(text)': an underscore must sit between two digits", position: start)
        }
        let digits = chars.filter { $0 != underscore }
        if radix == 10, digits.count > 1, digits[0] == UInt8(ascii: "0") {
            throw SyntaxError(message: "'\(text)': leading zeros are not allowed", position: start)
        }
        let magnitude = String(decoding: digits, as: UTF8.self)
        guard let value = Int(negative ? "-" + magnitude : magnitude, radix: radix) else {
            throw SyntaxError(message: "'\(text)' does not fit in a 64-bit integer", position: start)
        }
        return value
    }

    private static func float(_ text: String) -> Double? {
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "+nan", "-nan": return .nan
        default: break
        }
        let chars = Array(text.utf8)
        // TOML requires digits on both sides of '.', and of '_'; Double() is laxer, so check first.
        for (offset, byte) in chars.enumerated() where byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") {
            guard offset > 0, offset + 1 < chars.count, isDigit(chars[offset - 1]), isDigit(chars[offset + 1]) else {
                return nil
            }
        }
        guard chars.allSatisfy({ isDigit($0) || "+-._eE".utf8.contains($0) }) else { return nil }
        let digitsOnly = String(decoding: chars.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        let unsigned = digitsOnly.drop(while: { $0 == "+" || $0 == "-" })
        if unsigned.count > 1, unsigned.first == "0", unsigned.dropFirst().first.map({ $0 != "." && $0 != "e" && $0 != "E" }) ?? false {
            return nil
        }
        return Double(digitsOnly)
    }

    // MARK: Strings

    private mutating func parseBasicString() throws(SyntaxError) -> String {
        let start = position
        advance()
        var result: [UInt8] = []
        while true {
            guard let byte = peek(), byte != UInt8(ascii: "\n") else {
                throw syntax("unterminated string: expected '\"' before the end of the line", at: start)
            }
            advance()
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: result, as: UTF8.self)
            case UInt8(ascii: "\\"): result += try parseEscape()
            default:
                try checkStringByte(byte)
                result.append(byte)
            }
        }
    }

    private mutating func parseMultilineBasicString() throws(SyntaxError) -> String {
        let start = position
        advance(3)
        skipNewlineRightAfterOpening()
        var result: [UInt8] = []
        while true {
            guard let byte = peek() else { throw syntax("unterminated multi-line string: expected '\"\"\"'", at: start) }
            if matches("\"\"\"") {
                advance(3)
                // Up to two quotes may sit right before the closing delimiter.
                var extra = 0
                while extra < 2, peek() == UInt8(ascii: "\"") {
                    result.append(UInt8(ascii: "\""))
                    advance()
                    extra += 1
                }
                return String(decoding: result, as: UTF8.self)
            }
            advance()
            if byte == UInt8(ascii: "\\") {
                // A backslash ending a line trims the newline and leading whitespace after it.
                var lookahead = index
                while lookahead < bytes.count, bytes[lookahead] == UInt8(ascii: " ") || bytes[lookahead] == UInt8(ascii: "\t") {
                    lookahead += 1
                }
                if lookahead < bytes.count, bytes[lookahead] == UInt8(ascii: "\n") || bytes[lookahead] == UInt8(ascii: "\r") {
                    while let next = peek(), next == UInt8(ascii: " ") || next == UInt8(ascii: "\t")
                        || next == UInt8(ascii: "\n") || next == UInt8(ascii: "\r") {
                        advance()
                    }
                } else {
                    result += try parseEscape()
                }
                continue
            }
            if byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\r") { try checkStringByte(byte) }
            result.append(byte)
        }
    }

    private mutating func parseLiteralString() throws(SyntaxError) -> String {
        let start = position
        advance()
        var result: [UInt8] = []
        while true {
            guard let byte = peek(), byte != UInt8(ascii: "\n") else {
                throw syntax("unterminated string: expected \"'\" before the end of the line", at: start)
            }
            advance()
            if byte == UInt8(ascii: "'") { return String(decoding: result, as: UTF8.self) }
            try checkStringByte(byte)
            result.append(byte)
        }
    }

    private mutating func parseMultilineLiteralString() throws(SyntaxError) -> String {
        let start = position
        advance(3)
        skipNewlineRightAfterOpening()
        var result: [UInt8] = []
        while true {
            guard let byte = peek() else { throw syntax("unterminated multi-line string: expected \"'''\"", at: start) }
            if matches("'''") {
                advance(3)
                var extra = 0
                while extra < 2, peek() == UInt8(ascii: "'") {
                    result.append(UInt8(ascii: "'"))
                    advance()
                    extra += 1
                }
                return String(decoding: result, as: UTF8.self)
            }
            advance()
            if byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\r") { try checkStringByte(byte) }
            result.append(byte)
        }
    }

    private mutating func skipNewlineRightAfterOpening() {
        if matches("\r\n") { advance(2) } else if peek() == UInt8(ascii: "\n") { advance() }
    }

    private func checkStringByte(_ byte: UInt8) throws(SyntaxError) {
        if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
            throw syntax("control character \(describe(byte)) in a string; escape it", at: lastPosition)
        }
    }

    private mutating func parseEscape() throws(SyntaxError) -> [UInt8] {
        let start = lastPosition
        guard let byte = peek() else { throw syntax("unterminated escape sequence", at: start) }
        advance()
        switch byte {
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "f"): return [0x0C]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "\""): return [UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): return [UInt8(ascii: "\\")]
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let length = byte == UInt8(ascii: "u") ? 4 : 8
            guard index + length <= bytes.count,
                  let code = UInt32(String(decoding: bytes[index..<index + length], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(code) else {
                throw syntax("invalid Unicode escape: \\\(Character(Unicode.Scalar(byte))) needs \(length) hex digits of a valid code point", at: start)
            }
            advance(length)
            return Array(String(Character(scalar)).utf8)
        default:
            throw syntax("invalid escape sequence '\\\(describe(byte))'", at: start)
        }
    }

    // MARK: Whitespace, comments, line ends

    private mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    private mutating func skipComment() {
        guard peek() == UInt8(ascii: "#") else { return }
        while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
    }

    private mutating func skipWhitespaceCommentsAndNewlines() {
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

    private mutating func expectEndOfLine() throws(SyntaxError) {
        skipSpaces()
        skipComment()
        if peek() == nil || peek() == UInt8(ascii: "\n") || matches("\r\n") { return }
        throw syntax("unexpected \(describe(peek())) after the statement; expected the end of the line", at: position)
    }

    private mutating func skipRestOfLine() {
        while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
    }

    private mutating func expect(_ character: Unicode.Scalar, _ message: String) throws(SyntaxError) {
        guard peek() == UInt8(ascii: character) else {
            throw syntax("\(message), found \(describe(peek()))", at: position)
        }
        advance()
    }

    // MARK: Cursor

    private var position: SourcePosition { SourcePosition(line: line, column: column) }
    /// Position of the byte just consumed (for errors about it).
    private var lastPosition: SourcePosition { SourcePosition(line: line, column: max(1, column - 1)) }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func matches(_ text: String) -> Bool {
        let pattern = Array(text.utf8)
        return index + pattern.count <= bytes.count && bytes[index..<index + pattern.count].elementsEqual(pattern)
    }

    private mutating func advance(_ count: Int = 1) {
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

    private func describe(_ byte: UInt8?) -> String {
        guard let byte else { return "the end of the file" }
        if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return "the end of the line" }
        if byte < 0x20 || byte == 0x7F { return "U+" + String(byte, radix: 16, uppercase: true) }
        return "'\(Character(Unicode.Scalar(byte)))'"
    }

    private func syntax(_ message: String, at position: SourcePosition) -> SyntaxError {
        SyntaxError(message: message, position: position)
    }

    private func duplicate(_ message: String, at position: SourcePosition) -> SyntaxError {
        SyntaxError(code: "config.duplicate_key", message: message, position: position)
    }
}
