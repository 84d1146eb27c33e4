import Foundation

/// ISO 8601 timestamps as pyams_chat writes them (UTC, second or sub-second precision).
public enum ISOTimestamp {
    public static func now() -> String { format(Date()) }

    /// Written digit by digit: every event gets a timestamp, and String(format:) costs
    /// microseconds on the publish path.
    public static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        let millis = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes = [UInt8]()
        bytes.reserveCapacity(24)
        func put(_ value: Int, width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(48 + (rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, width: 4); bytes.append(45)
        put(Int(parts.tm_mon) + 1, width: 2); bytes.append(45)
        put(Int(parts.tm_mday), width: 2); bytes.append(84)
        put(Int(parts.tm_hour), width: 2); bytes.append(58)
        put(Int(parts.tm_min), width: 2); bytes.append(58)
        put(Int(parts.tm_sec), width: 2); bytes.append(46)
        put(min(max(millis, 0), 999), width: 3); bytes.append(90)
        return String(decoding: bytes, as: UTF8.self)
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
