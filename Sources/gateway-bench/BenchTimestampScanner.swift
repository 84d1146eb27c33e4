/// Finds `"bench_ts":<digits>` in a delivered frame without parsing the JSON: the client must
/// stay far cheaper per frame than the server it measures.
enum BenchTimestampScanner {
    /// `"bench_ts":` as bytes, compared by hand: a static array would cost a retain per frame.
    private static let markerLength = 11

    static func timestamp(in bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count > markerLength else { return nil }
        // Scan backwards: the bench puts `data` last, so the marker is usually in the last 40 bytes.
        var start = bytes.count - markerLength
        while start >= 0 {
            if bytes[start] == 0x22, isMarker(bytes, at: start) { break }
            start -= 1
        }
        guard start >= 0 else { return nil }
        var index = start + markerLength
        // Tolerate a space after the colon (a server may re-serialise the data object).
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
        var value: UInt64 = 0
        var digits = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        return digits > 0 ? value : nil
    }

    @inline(__always)
    private static func isMarker(_ bytes: UnsafeRawBufferPointer, at start: Int) -> Bool {
        bytes[start + 1] == UInt8(ascii: "b") && bytes[start + 2] == UInt8(ascii: "e")
            && bytes[start + 3] == UInt8(ascii: "n") && bytes[start + 4] == UInt8(ascii: "c")
            && bytes[start + 5] == UInt8(ascii: "h") && bytes[start + 6] == UInt8(ascii: "_")
            && bytes[start + 7] == UInt8(ascii: "t") && bytes[start + 8] == UInt8(ascii: "s")
            && bytes[start + 9] == UInt8(ascii: "\"") && bytes[start + 10] == UInt8(ascii: ":")
    }
}
