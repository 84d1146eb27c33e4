import Foundation
import GatewayChatClient
import GatewayCore
import GatewayJSON
import Testing

/// WebSocket keep-alive: the server pings every client; one that stops answering (a half-open
/// socket, a frozen peer) is closed and unregistered; one that answers stays.
@Suite struct KeepAliveTests {
    /// Pings every second; a client has 5 s to answer, so the registration stays visible long
    /// enough to be seen even on a busy machine.
    private func gateway() throws -> TestGateway {
        try TestGateway { config in
            config.server.pingIntervalSeconds = 1
            config.server.pongTimeoutSeconds = 5
        }
    }

    @Test func aClientThatNeverAnswersPingsIsClosedAndUnregistered() async throws {
        let gateway = try gateway()
        defer { gateway.stop() }
        // An event waiting in history: replayed right after the connection is registered, it
        // proves the registration without racing the keep-alive.
        let app = gateway.token("app", publish: true)
        #expect(try gateway.publish(#"{"category":"c","message":"missed","target":{"principals":["silent"]}}"#, token: app).status == 202)
        // A raw socket that completes the upgrade and then never answers anything.
        let silent = try RawWebSocket.upgrade(port: gateway.port, token: gateway.token("silent", principals: ["silent"]),
                                              query: "?last_id=0")
        defer { close(silent.fd) }

        // Pinged at 1 s, no pong within 5 s: closed and unregistered well before this generous bound.
        let received = RawWebSocket.readUntilClosed(silent.fd, leftover: silent.leftover, timeoutSeconds: 60)
        #expect(received.closedByPeer, "the server closed the TCP connection")
        #expect(received.opcodes.first == 0x1, "the replayed event: the connection was registered")
        #expect(received.opcodes.contains(0x9), "the server pinged")
        #expect(received.opcodes.last == 0x8, "then closed")
        for _ in 0..<600 where gateway.server.connectionCount > 0 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(gateway.server.connectionCount == 0, "the silent client is no longer registered")
        let health = try gateway.http("GET", "/healthz").json()
        #expect(health.view["connections"].int == 0)
        let metrics = try gateway.http("GET", "/metrics").text
        #expect(metrics.contains("gateway_ping_timeouts_total"))
    }

    @Test func aClientThatAnswersPingsStaysConnected() async throws {
        let gateway = try gateway()
        defer { gateway.stop() }
        // The test client answers every ping with a pong, as browsers and `websockets` do.
        let client = try await gateway.connect(gateway.token("alive", principals: ["alive"]))
        try await Task.sleep(for: .seconds(4))
        #expect(gateway.server.connectionCount == 1)
        let app = gateway.token("app", publish: true)
        #expect(try gateway.publish(#"{"category":"c","message":"still here","target":{"principals":["alive"]}}"#, token: app).status == 202)
        // Pings reach the client library, which answered them; the event follows.
        var message: JSON?
        for _ in 0..<10 {
            if case .text(let text) = try await client.next(timeout: .seconds(5)) {
                message = try JSON.parse(text)
                break
            }
        }
        #expect(message?.view["message"].string == "still here")
        await client.close()
    }
}

/// A WebSocket client on a bare blocking socket: the upgrade, then whatever the test does (or
/// does not do) with the socket.
enum RawWebSocket {
    struct Upgraded {
        let fd: Int32
        /// Bytes received after the 101 head, if any came with it.
        let leftover: [UInt8]
    }

    static func upgrade(port: Int, token: String, query: String = "") throws -> Upgraded {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect failed") }
        let request = "GET /ws\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + "Authorization: Bearer \(token)\r\n\r\n"
        try RawHTTP.sendAll(fd, Array(request.utf8))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while received.firstRange(of: [13, 10, 13, 10]) == nil {
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { throw TestFailure("no upgrade answer: \(String(decoding: received, as: UTF8.self))") }
            received.append(contentsOf: chunk[0..<count])
        }
        let end = received.firstRange(of: [13, 10, 13, 10])!
        guard String(decoding: received[..<end.lowerBound], as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
            throw TestFailure("upgrade refused: \(String(decoding: received, as: UTF8.self))")
        }
        return Upgraded(fd: fd, leftover: Array(received[end.upperBound...]))
    }

    /// Reads until the peer closes (or the timeout): the opcodes of the server frames seen.
    static func readUntilClosed(_ fd: Int32, leftover: [UInt8] = [], timeoutSeconds: Int) -> (opcodes: [UInt8], closedByPeer: Bool) {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes = leftover
        var chunk = [UInt8](repeating: 0, count: 4096)
        var closedByPeer = false
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count == 0 { closedByPeer = true; break }
            if count < 0 { closedByPeer = errno == ECONNRESET; break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        // Server frames are unmasked: opcode, 7-bit length (126: 16-bit follows, 127: 64-bit), payload.
        var opcodes: [UInt8] = []
        var index = 0
        while index + 1 < bytes.count {
            opcodes.append(bytes[index] & 0x0F)
            var length = Int(bytes[index + 1] & 0x7F)
            var header = 2
            if length == 126, index + 4 <= bytes.count {
                length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                header = 4
            } else if length == 127, index + 10 <= bytes.count {
                length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[index + $1]) }
                header = 10
            }
            index += header + length
        }
        return (opcodes, closedByPeer)
    }
}
