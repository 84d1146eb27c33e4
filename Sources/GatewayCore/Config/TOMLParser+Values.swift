// TOML values: arrays, inline tables, booleans, numbers and date-times (strings are in
// TOMLParser+Strings.swift). Part of the hand-written parser; see TOMLParser.swift for why.

extension TOMLParser {
    // MARK: Values

    mutating func parseValue() throws(SyntaxError) -> TOMLNode {
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

    mutating func parseArray() throws(SyntaxError) -> [TOMLNode] {
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

    mutating func parseInlineTable() throws(SyntaxError) -> TOMLTable {
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

    func freeze(_ table: TOMLTable) {
        table.origin = .inline
        for (_, item) in table.entries {
            if case .table(let child) = item.value.value { freeze(child) }
        }
    }

    /// Booleans, numbers and date-times: everything that is not quoted or bracketed.
    mutating func parseScalarToken() throws(SyntaxError) -> TOMLValue {
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

    static func endsScalar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"),
             UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"):
            return true
        default:
            return false
        }
    }

    static func looksLikeDate(_ token: [UInt8]) -> Bool {
        token.count == 10 && token[4] == UInt8(ascii: "-") && token[7] == UInt8(ascii: "-")
            && token.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || isDigit($0.element) }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// RFC 3339 shapes TOML allows: date, time, local and offset date-times.
    static func dateTime(_ text: String) -> String? {
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
    static func integer(_ text: String, at start: SourcePosition) throws(SyntaxError) -> Int? {
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

    static func float(_ text: String) -> Double? {
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
}
