// TOML's four string forms and their escapes. Part of the hand-written parser; see
// TOMLParser.swift for why.

extension TOMLParser {
    // MARK: Strings

    mutating func parseBasicString() throws(SyntaxError) -> String {
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

    mutating func parseMultilineBasicString() throws(SyntaxError) -> String {
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

    mutating func parseLiteralString() throws(SyntaxError) -> String {
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

    mutating func parseMultilineLiteralString() throws(SyntaxError) -> String {
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

    mutating func skipNewlineRightAfterOpening() {
        if matches("\r\n") { advance(2) } else if peek() == UInt8(ascii: "\n") { advance() }
    }

    func checkStringByte(_ byte: UInt8) throws(SyntaxError) {
        if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
            throw syntax("control character \(describe(byte)) in a string; escape it", at: lastPosition)
        }
    }

    mutating func parseEscape() throws(SyntaxError) -> [UInt8] {
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
            throw syntax("invalid escape sequence \\\(byte < 0x80 ? String(Character(Unicode.Scalar(byte))) : "…") in a string", at: start)
        }
    }
}
