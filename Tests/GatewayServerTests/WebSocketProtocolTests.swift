import Foundation
import GatewayChatClient
import GatewayJSON
import NIOCore
import NIOWebSocket
import Testing

/// RFC 6455 behaviour the gateway owes its clients: reassembly, UTF-8, ping, close codes, and
/// disconnecting a client that does not read.
@Suite struct WebSocketProtocolTests {
    private func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func fragmentedMessageIsReassembled() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let writer = try await gateway.connect(gateway.token("w", publish: true))
        let reader = try await gateway.connect(gateway.token("r"))
        let whole = #"{"type":"publish","ref":"f","event":{"category":"c","message":"in three parts","target":{"principals":["r"]}}}"#
        let bytes = Array(whole.utf8)
        let thirds = [bytes[0..<20], bytes[20..<50], bytes[50...]]
        try await writer.send(frame: WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(bytes: thirds[0])))
        try await writer.send(frame: WebSocketFrame(fin: false, opcode: .continuation, data: ByteBuffer(bytes: thirds[1])))
        try await writer.send(frame: WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(bytes: thirds[2])))
        #expect(try await writer.nextJSON().view["type"].string == "ack")
        #expect(try await reader.nextJSON().view["message"].string == "in three parts")
    }

    @Test func pingIsAnsweredWithPong() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let client = try await gateway.connect(gateway.token("p"))
        try await client.send(frame: WebSocketFrame(fin: true, opcode: .ping, data: buffer("hello")))
        #expect(try await client.next() == .pong(Array("hello".utf8)))
    }

    @Test func invalidUTF8ClosesWith1007() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let client = try await gateway.connect(gateway.token("u"))
        try await client.send(frame: WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0x7B, 0xC3, 0x28, 0x7D])))
        guard case .close(let code, _) = try await client.next() else { Issue.record("expected a close frame"); return }
        #expect(code == 1007)
    }

    @Test func messageOverTheLimitClosesWith1009() async throws {
        let gateway = try TestGateway { $0.server.maxMessageBytes = 1024 }
        defer { gateway.stop() }
        // One frame over the limit…
        let single = try await gateway.connect(gateway.token("big"))
        try await single.send(text: String(repeating: "x", count: 2000))
        guard case .close(let code, _) = try await single.next() else { Issue.record("expected a close frame"); return }
        #expect(code == 1009)
        // …and fragments that only together pass it.
        let fragmented = try await gateway.connect(gateway.token("big2"))
        for index in 0..<3 {
            try await fragmented.send(frame: WebSocketFrame(fin: false, opcode: index == 0 ? .text : .continuation,
                                                            data: buffer(String(repeating: "y", count: 500))))
        }
        guard case .close(let secondCode, _) = try await fragmented.next() else { Issue.record("expected a close frame"); return }
        #expect(secondCode == 1009)
    }

    @Test func binaryFramesCloseWith1003() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let client = try await gateway.connect(gateway.token("b"))
        try await client.send(frame: WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [1, 2, 3])))
        guard case .close(let code, _) = try await client.next() else { Issue.record("expected a close frame"); return }
        #expect(code == 1003)
    }

    @Test func closeIsEchoedAndBadCloseCodesGet1002() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let polite = try await gateway.connect(gateway.token("c1"))
        var closeBody = ByteBuffer()
        closeBody.writeInteger(UInt16(1000))
        closeBody.writeString("bye")
        try await polite.send(frame: WebSocketFrame(fin: true, opcode: .connectionClose, data: closeBody))
        guard case .close(let code, _) = try await polite.next() else { Issue.record("expected the close echo"); return }
        #expect(code == 1000)

        let rude = try await gateway.connect(gateway.token("c2"))
        var badBody = ByteBuffer()
        badBody.writeInteger(UInt16(1005))  // reserved: must never be sent on the wire
        try await rude.send(frame: WebSocketFrame(fin: true, opcode: .connectionClose, data: badBody))
        guard case .close(let badCode, _) = try await rude.next() else { Issue.record("expected a close frame"); return }
        #expect(badCode == 1002)
    }

    @Test func clientThatDoesNotReadIsDisconnectedWithoutSlowingOthers() async throws {
        let gateway = try TestGateway { config in
            config.server.maxOutboundBytes = 256 * 1024
            // No keep-alive pings: on a loaded machine this test outlasts ping + pong timeout, and
            // the paused client would be closed for a missed pong (1001), not by the outbound
            // bound this test is about (KeepAliveTests covers pings).
            config.server.pingIntervalSeconds = 0
        }
        defer { gateway.stop() }
        let slow = try await gateway.connect(gateway.token("slow", principals: ["group:all"]))
        let fast = try await gateway.connect(gateway.token("fast", principals: ["group:all"]))
        slow.pauseReading()
        let app = gateway.token("app", publish: true)
        let filler = String(repeating: "z", count: 30_000)
        let total = 400  // ~12 MB in all: far beyond the socket buffers plus the 256 KB bound
        for index in 0..<total {
            let response = try gateway.publish(#"{"category":"c","message":"\#(index) \#(filler)","target":{"principals":["group:all"]}}"#, token: app)
            #expect(response.status == 202)
            _ = try await fast.nextJSON()
        }
        slow.resumeReading()
        var sawClose: UInt16?
        var received = 0
        while sawClose == nil {
            let message = try await slow.next(timeout: .seconds(10))
            switch message {
            case .text: received += 1
            case .close(let code, _): sawClose = code ?? 0
            case .disconnected: sawClose = 0
            default: break
            }
        }
        #expect(received < total, "the slow client was cut off before receiving everything")
        #expect(sawClose == 1008 || sawClose == 0, "close code \(sawClose.map(String.init) ?? "none")")
        let metrics = try gateway.http("GET", "/metrics")
        #expect(metrics.text.contains("gateway_slow_consumer_disconnects_total"))
    }
}
