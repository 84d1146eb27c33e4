import Foundation
import GatewayCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A large upload streams to disk: the gateway's memory does not grow with the file.
@Suite struct AttachmentLargeUploadTests {
    /// Large enough that holding the body would dwarf what other tests, running in parallel in
    /// the same process, add to its resident set (up to ~30 MiB seen with 1,000 test clients).
    static let uploadBytes = 160 * 1024 * 1024

    /// Resident set size of this process (gateway and test client share it), in bytes.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }

    @Test func largeUploadStreamsToDiskWithBoundedMemory() throws {
        let gateway = try TestGateway { config in
            config.plugins = [GatewayConfig.Plugin(
                name: "attachment-validator", library: "libAttachmentValidator.so",
                config: [(key: "max_bytes", value: .integer(Self.uploadBytes))])]
            config.attachments.maxBytes = Self.uploadBytes
        }
        defer { gateway.stop() }
        let connection = try RawConnection(port: gateway.port)
        defer { connection.close() }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let head = "POST /api/v1/attachments?type=pdf&name=big.pdf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + "Authorization: Bearer \(gateway.token("alice"))\r\nContent-Type: application/pdf\r\n"
            + "Content-Length: \(Self.uploadBytes)\r\n\r\n"
        var chunk = [UInt8](repeating: 0x20, count: 1024 * 1024)
        let baseline = Self.residentBytes()
        try #require(baseline > 0, "VmRSS not readable from /proc/self/status")
        var peak = baseline
        let started = Date()
        try connection.send(Array(head.utf8))
        for index in 0..<(Self.uploadBytes / chunk.count) {
            if index == 0 { chunk.replaceSubrange(0..<5, with: Array("%PDF-".utf8)) }
            try connection.send(chunk)
            if index == 0 { chunk.replaceSubrange(0..<5, with: [0x20, 0x20, 0x20, 0x20, 0x20]) }
            if index % 8 == 0 { peak = max(peak, Self.residentBytes()) }
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(connection.fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        let seconds = Date().timeIntervalSince(started)
        peak = max(peak, Self.residentBytes())
        let response = try RawHTTP.parse(received)
        #expect(response.status == 201, "\(response.text)")
        #expect(response.attachmentField("type") == "pdf")
        let growth = peak - baseline
        print("attachment upload: \(Self.uploadBytes >> 20) MiB in \(String(format: "%.2f", seconds)) s "
              + "(\(String(format: "%.0f", Double(Self.uploadBytes) / seconds / 1_048_576)) MiB/s), peak RSS growth \(growth >> 20) MiB")
        // Holding the body would add 160 MiB; streaming keeps a few reads in flight.
        #expect(growth < 96 * 1024 * 1024, "RSS grew by \(growth >> 20) MiB during a 160 MiB upload")
    }
}
