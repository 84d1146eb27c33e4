import Foundation
import GatewayJSON
import Testing

/// RFC 6455 framing rules, the opening handshake's fields, methods HTTP routing does not serve,
/// and the multipart part-header limit — each checked with raw bytes on a socket.
@Suite struct EdgeProtocolTests {
    /// Upgrades a raw socket; returns it with the 101 consumed.
    private func upgraded(_ gateway: TestGateway, token: String? = nil) throws -> RawSocket {
        let socket = try RawSocket(port: gateway.port)
        let token = token ?? gateway.token("alice")
        #expect(socket.send("GET /ws?token=\(token) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
        var head: [UInt8] = []
        var byte: UInt8 = 0
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !head.ends(with: [13, 10, 13, 10]) {
            if recv(socket.fd, &byte, 1, 0) == 1 { head.append(byte) } else { usleep(5_000) }
        }
        #expect(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101"))
        return socket
    }

    /// A text frame; `masked` and `rsv` let a test break the rules.
    private func frame(_ text: String, masked: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        let payload = Array(text.utf8)
        var bytes: [UInt8] = [0x80 | rsv << 4 | 0x1, (masked ? 0x80 : 0) | UInt8(payload.count)]
        let mask: [UInt8] = [1, 2, 3, 4]
        if masked { bytes += mask }
        bytes += payload.enumerated().map { masked ? $0.element ^ mask[$0.offset % 4] : $0.element }
        return bytes
    }

    /// The close code of the first close frame in what the server sent (server frames are unmasked).
    private func closeCode(in bytes: [UInt8]) -> Int? {
        closeCodes(in: bytes).first
    }

    /// The close codes of every close frame in what the server sent, in order.
    private func closeCodes(in bytes: [UInt8]) -> [Int] {
        var codes: [Int] = []
        var index = 0
        while index + 2 <= bytes.count {
            let opcode = bytes[index] & 0x0F
            let length = Int(bytes[index + 1] & 0x7F)
            guard length < 126 else { return codes }
            if opcode == 0x8, length >= 2, index + 4 <= bytes.count {
                codes.append(Int(bytes[index + 2]) << 8 | Int(bytes[index + 3]))
            }
            index += 2 + length
        }
        return codes
    }

    /// After the server's close (1007 here), a publish from the client is not routed, and a
    /// framing violation ends the connection without a second close frame.
    @Test func afterTheServersCloseNothingIsRoutedAndNoSecondCloseIsSent() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bob = try await gateway.connect(gateway.token("bob"))
        let socket = try upgraded(gateway, token: gateway.token("alice", publish: true))
        var bytes = [UInt8]([0x81, 0x84, 1, 2, 3, 4] + zip([0x7B, 0xC3, 0x28, 0x7D] as [UInt8], [1, 2, 3, 4] as [UInt8]).map { $0 ^ $1 })
        bytes += frame(#"{"type":"publish","ref":"late","event":{"category":"c","message":"late","target":{"principals":["bob"]}}}"#)
        bytes += frame(#"{"type":"typing"}"#, masked: false)
        _ = bytes.withUnsafeBytes { send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let answer = try #require(await socket.readUntilClosed(seconds: 20), "connection not closed")
        #expect(closeCodes(in: answer) == [1007], "close frames sent: \(closeCodes(in: answer))")
        #expect(!String(decoding: answer, as: UTF8.self).contains("ack"), "the late publish was acknowledged")
        // Every frame above was read before the close; a marker published now must be bob's first event.
        let marker = try gateway.publish(#"{"category":"c","message":"marker","target":{"principals":["bob"]}}"#,
                                         token: gateway.token("pub", publish: true))
        #expect(marker.status == 202)
        #expect(try await bob.nextJSON().view["message"].string == "marker")
        try await bob.expectSilence(for: .milliseconds(500))
    }

    @Test func rsvBitsAndUnmaskedFramesClose1002() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        for (name, bytes) in [("rsv1", frame(#"{"type":"typing"}"#, rsv: 0b100)),
                              ("rsv3", frame(#"{"type":"typing"}"#, rsv: 0b001)),
                              ("unmasked", frame(#"{"type":"typing"}"#, masked: false))] {
            let socket = try upgraded(gateway)
            _ = bytes.withUnsafeBytes { send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let answer = try #require(await socket.readUntilClosed(seconds: 20), "\(name): connection not closed")
            #expect(closeCode(in: answer) == 1002, "\(name)")
        }
    }

    @Test func badKeyOrVersionIs400BeforeAnyUpgrade() throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let token = gateway.token("alice")
        let cases: [(key: String?, version: String?, code: String)] = [
            ("not base64!", "13", "websocket.bad_key"),
            ("c2hvcnQ=", "13", "websocket.bad_key"),              // base64 of 5 bytes, not 16
            (nil, "13", "websocket.bad_key"),
            ("dGhlIHNhbXBsZSBub25jZQ==", "8", "websocket.bad_version"),
            ("dGhlIHNhbXBsZSBub25jZQ==", nil, "websocket.bad_version"),
        ]
        for item in cases {
            var headers = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
            if let key = item.key { headers.append(("Sec-WebSocket-Key", key)) }
            if let version = item.version { headers.append(("Sec-WebSocket-Version", version)) }
            let response = try gateway.http("GET", "/ws?token=\(token)", headers: headers)
            #expect(response.status == 400, "\(item): \(response.status) \(response.text)")
            #expect(response.errorCode == item.code, "\(item): \(response.text)")
            if item.code == "websocket.bad_version" { #expect(response.header("Sec-WebSocket-Version") == "13") }
        }
    }

    @Test func unknownMethodsGetAFramed405() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        for request in ["CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
                        "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n",
                        "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"] {
            let socket = try RawSocket(port: gateway.port)
            #expect(socket.send(request))
            let answer = try #require(await socket.readUntilClosed(seconds: 20), "\(request): no answer, not closed")
            let response = try RawHTTP.parse(answer)
            #expect(response.status == 405 || response.status == 400, "\(request): \(response.status)")
            let length = try #require(response.header("Content-Length").flatMap(Int.init), "\(request): no Content-Length")
            #expect(length == response.body.count)
        }
    }

    @Test func multipartPartHeaderLimitHoldsWhenThePartEndsInTheSameChunk() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let boundary = "b0undary"
        // Headers far over 16 KiB in a part that ends within the same (small) body.
        let bigHeaders = (0..<40).map { "X-Filler-\($0): \(String(repeating: "a", count: 500))\r\n" }.joined()
        let body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\(bigHeaders)"
            + "Content-Type: image/png\r\n\r\nxyz\r\n--\(boundary)--\r\n"
        let response = try gateway.http("POST", "/api/v1/attachments", token: gateway.token("alice"),
                                         headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")],
                                         body: Array(body.utf8))
        #expect(response.status == 400, "\(response.text)")
        #expect(response.text.contains("16384"), "\(response.text)")
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
