#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Finds `"bench_ts":<digits>` in a delivered frame without parsing the JSON: the client must
/// stay far cheaper per frame than the server it measures.
enum BenchTimestampScanner {
    private static let marker: [UInt8] = Array("\"bench_ts\":".utf8)

    static func timestamp(in buffer: ByteBuffer) -> UInt64? {
        buffer.withUnsafeReadableBytes { bytes -> UInt64? in
            timestamp(in: bytes)
        }
    }

    static func timestamp(in bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard let base = bytes.baseAddress, bytes.count > marker.count else { return nil }
        guard var index = markerEnd(in: bytes, base: base) else { return nil }
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

    /// Index just past the marker. memchr (vectorised in glibc) jumps between quote characters;
    /// memcmp checks the marker at each one.
    private static func markerEnd(in bytes: UnsafeRawBufferPointer, base: UnsafeRawPointer) -> Int? {
        var offset = 0
        let last = bytes.count - marker.count
        return marker.withUnsafeBytes { needle -> Int? in
            while offset <= last {
                guard let quote = memchr(base + offset, Int32(UInt8(ascii: "\"")), last - offset + 1) else { return nil }
                let position = base.distance(to: UnsafeRawPointer(quote))
                if memcmp(quote, needle.baseAddress!, needle.count) == 0 { return position + needle.count }
                offset = position + 1
            }
            return nil
        }
    }
}
