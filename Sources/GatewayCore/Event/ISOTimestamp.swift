import Foundation

/// ISO 8601 timestamps as pyams_chat writes them (UTC, second or sub-second precision).
public enum ISOTimestamp {
    public static func now() -> String { format(Date()) }

    public static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        let millis = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }

    /// Accepts YYYY-MM-DDTHH:MM:SS with optional fraction and a Z or ±HH:MM offset.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return false }
        func digits(_ range: Range<Int>) -> Bool { range.allSatisfy { bytes[$0] >= 48 && bytes[$0] <= 57 } }
        guard digits(0..<4), bytes[4] == 45, digits(5..<7), bytes[7] == 45, digits(8..<10),
              bytes[10] == 84 || bytes[10] == 32, digits(11..<13), bytes[13] == 58, digits(14..<16),
              bytes[16] == 58, digits(17..<19) else { return false }
        var index = 19
        if index < bytes.count, bytes[index] == 46 {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
            if index == start { return false }
        }
        if index == bytes.count { return true }
        if bytes[index] == 90 { return index + 1 == bytes.count }
        if bytes[index] == 43 || bytes[index] == 45 {
            return bytes.count == index + 6 && digits(index + 1..<index + 3) && bytes[index + 3] == 58 && digits(index + 4..<index + 6)
        }
        return false
    }
}
