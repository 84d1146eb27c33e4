import Foundation
import GatewayChatClient
import NIOCore
import NIOPosix
import NIOWebSocket
import Testing

/// One event loop group for the whole suite, as the project's end-to-end tests share one.
let sharedGroup = MultiThreadedEventLoopGroup(numberOfThreads: 2)

func withServer(_ body: (TestWebSocketServer) async throws -> Void) async throws {
    let server = try await TestWebSocketServer(group: sharedGroup)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

func connect(_ server: TestWebSocketServer, _ path: String, headers: [(String, String)] = [],
             subprotocols: [String] = [], maxFrameSize: Int = 1 << 24) async throws -> WebSocketClient {
    try await WebSocketClient.connect(host: "127.0.0.1", port: server.port, path: path, headers: headers,
                                      subprotocols: subprotocols, maxFrameSize: maxFrameSize, group: sharedGroup)
}

func frame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> WebSocketFrame {
    WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(string: text))
}

/// Polls `condition` until it holds or `seconds` pass: for state the server records on its own loop.
// Generous: CI machines (and this one, with parallel builds) can be very busy; the bound only
// catches a hang, it is not a timing.
func eventually(seconds: Double = 60, _ condition: () -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
    return condition()
}

@Suite("WebSocketClient against a live NIO server")
struct WebSocketClientTests {
    @Test func echoesTextAndBinary() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            try await client.send(text: "héllo ✓")
            #expect(try await client.next() == .text("héllo ✓"))
            try await client.send(frame: WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [0, 255, 7])))
            #expect(try await client.next() == .binary([0, 255, 7]))
            #expect(client.negotiatedSubprotocol == nil)
            await client.close()
        }
    }

    @Test func framesSentRightBehindThe101ArriveInOrderAndReassembled() async throws {
        try await withServer { server in
            let client = try await connect(server, "/greet")
            #expect(try await client.next() == .text("hello"))
            #expect(try await client.next() == .text("fragmented"))
            #expect(try await client.next() == .binary([1, 2, 3]))
            await client.close()
        }
    }

    @Test func pathQueryAndHeadersReachTheServer() async throws {
        try await withServer { server in
            let client = try await connect(server, "/headers?token=abc&x=1", headers: [("Authorization", "Bearer t0k")])
            #expect(try await client.next() == .text("uri=/headers?token=abc&x=1 auth=Bearer t0k"))
            await client.close()
        }
    }

    @Test func negotiatesTheSubprotocolTheServerChose() async throws {
        try await withServer { server in
            let client = try await connect(server, "/ws", subprotocols: ["accessToken", "eyJhbGciOi.x.y"])
            #expect(client.negotiatedSubprotocol == "accessToken")
            try await client.send(text: "still works")
            #expect(try await client.next() == .text("still works"))
            await client.close()
        }
    }

    @Test func refusesASubprotocolItNeverOffered() async throws {
        try await withServer { server in
            let error = await #expect(throws: WebSocketClientError.self) {
                _ = try await connect(server, "/wrongproto", subprotocols: ["chat.v1"])
            }
            #expect(error?.code == "ws_client.subprotocol_mismatch")
        }
    }

    @Test func upgradeRefusalCarriesStatusHeadersAndBody() async throws {
        try await withServer { server in
            let refusal = await #expect(throws: WebSocketUpgradeRefused.self) {
                _ = try await connect(server, "/refuse")
            }
            #expect(refusal?.status == 401)
            #expect(refusal?.body == #"{"error":{"code":"auth.missing_token","message":"A token is required."}}"#)
            #expect(refusal?.header("www-authenticate") == "Bearer")
            #expect(refusal?.header("Content-Type") == "application/json")
        }
    }

    @Test func serverCloseFrameIsSurfacedNotAnswered() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            try await client.send(text: "close-me")
            #expect(try await client.next() == .close(code: 4001, reason: "bye"))
            // The client must not have answered by itself: the server has seen no close yet.
            try await Task.sleep(nanoseconds: 100_000_000)
            #expect(server.record.closeCodes.isEmpty)
            await client.close(code: 1000)
            #expect(try await eventually { server.record.closeCodes == [1000] })
        }
    }

    @Test func clientCloseSendsItsCodeAndWaitsForTheEcho() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            // A generous echo window: on a busy machine the echo can take more than the 1 s default.
            await client.close(code: 4321, echoTimeout: .seconds(30))
            #expect(server.record.closeCodes == [4321])
            #expect(try await client.next() == .close(code: 4321, reason: ""))
            #expect(try await client.next() == .disconnected)
            #expect(try await client.next() == .disconnected)
            let error = await #expect(throws: WebSocketClientError.self) { try await client.send(text: "late") }
            #expect(error?.code == "ws_client.not_connected")
            await client.close()  // closing twice is harmless
        }
    }

    @Test func rawCloseFrameWithAnyPayloadIsSent() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            var payload = ByteBuffer()
            payload.writeInteger(UInt16(3999))
            payload.writeString("custom")
            try await client.send(frame: WebSocketFrame(fin: true, opcode: .connectionClose, data: payload))
            #expect(try await client.next() == .close(code: 3999, reason: "custom"))
            #expect(server.record.closeCodes == [3999])
            #expect(try await client.next() == .disconnected)
        }
    }

    @Test func tcpDropWithoutCloseFrameIsDisconnected() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            try await client.send(text: "drop")
            #expect(try await client.next() == .disconnected)

            let hungUp = try await connect(server, "/hangup")
            #expect(try await hungUp.next() == .disconnected)
        }
    }

    @Test func fragmentsReachTheServerReassembled() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            try await client.send(frame: frame(.text, "Hel", fin: false))
            try await client.send(frame: frame(.continuation, "lo ", fin: false))
            try await client.send(frame: frame(.continuation, "world", fin: true))
            #expect(try await client.next() == .text("Hello world"))
            #expect(server.record.texts == ["Hello world"])
            await client.close()
        }
    }

    @Test func pingsAreAnsweredAutomaticallyAndNotSurfaced() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            try await client.send(text: "ping-me")
            // The server turns our automatic pong into this text; no .pong/.ping comes first.
            #expect(try await client.next() == .text("pong:abc"))
            await client.close()
        }
    }

    @Test func pongsAreSurfaced() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            try await client.send(frame: frame(.ping, "are you there"))
            #expect(try await client.next() == .pong(Array("are you there".utf8)))
            await client.close()
        }
    }

    @Test func nextTimesOutWithAStableCode() async throws {
        try await withServer { server in
            let client = try await connect(server, "/silent")
            let started = Date()
            let error = await #expect(throws: WebSocketClientError.self) {
                _ = try await client.next(timeout: .milliseconds(200))
            }
            #expect(error?.code == "ws_client.timeout")
            // It gives up (it does not hang); the bound is loose because CI machines are busy.
            #expect(Date().timeIntervalSince(started) < 15)
            // The connection is still usable after a timeout.
            try await client.send(text: "after")
            #expect(try await client.next() == .text("after"))
            await client.close()
        }
    }

    @Test func secondConcurrentNextIsRefused() async throws {
        try await withServer { server in
            let client = try await connect(server, "/silent")
            // Generous bounds: on a loaded machine the first next() may take a while to start waiting.
            async let first = client.next(timeout: .seconds(30))
            try await Task.sleep(nanoseconds: 500_000_000)
            let error = await #expect(throws: WebSocketClientError.self) { _ = try await client.next() }
            #expect(error?.code == "ws_client.concurrent_next")
            try await client.send(text: "wake")
            #expect(try await first == .text("wake"))
            await client.close()
        }
    }

    @Test func unmaskedFramesAreSentOnlyWhenAskedAndTheServerRejectsThem() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            try await client.sendUnmasked(frame: frame(.text, "naked"))
            #expect(try await client.next() == .close(code: 1002, reason: "unmasked"))
            #expect(server.record.texts.isEmpty)
        }
    }

    @Test func oversizedMessageFailsWithAStableCode() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo", maxFrameSize: 1024)
            try await client.send(text: String(repeating: "y", count: 4096))
            let error = await #expect(throws: WebSocketClientError.self) { _ = try await client.next() }
            #expect(error?.code == "ws_client.message_too_large")
        }
    }

    @Test func pausedClientLetsTheServerBufferFillThenCatchesUp() async throws {
        try await withServer { server in
            let client = try await connect(server, "/echo")
            client.pauseReading()
            try await client.send(text: "flood 300")  // 300 × 64 KiB ≈ 19 MiB, beyond the socket buffers
            #expect(try await eventually { server.record.becameUnwritable })
            client.resumeReading()
            for index in 0..<300 {
                guard case .text(let text) = try await client.next() else {
                    Issue.record("message \(index) was not text")
                    return
                }
                #expect(text.hasPrefix("\(index):"))
            }
            await client.close()
        }
    }

    @Test func connectFailuresHaveStableCodes() async throws {
        // A port that was just free: bind, note, close.
        let probe = try await ServerBootstrap(group: sharedGroup).bind(host: "127.0.0.1", port: 0).get()
        let freePort = probe.localAddress!.port!
        try await probe.close()
        let refused = await #expect(throws: WebSocketClientError.self) {
            _ = try await WebSocketClient.connect(host: "127.0.0.1", port: freePort, path: "/ws", group: sharedGroup)
        }
        #expect(refused?.code == "ws_client.connect_failed")

        let badPath = await #expect(throws: WebSocketClientError.self) {
            _ = try await WebSocketClient.connect(host: "127.0.0.1", port: freePort, path: "ws", group: sharedGroup)
        }
        #expect(badPath?.code == "ws_client.invalid_path")
    }

    @Test func serverThatNeverAnswersTheUpgradeTimesOut() async throws {
        // Accepts TCP and reads nothing: the upgrade request is never answered.
        let mute = try await ServerBootstrap(group: sharedGroup).bind(host: "127.0.0.1", port: 0).get()
        let port = mute.localAddress!.port!
        let started = Date()
        let error = await #expect(throws: WebSocketClientError.self) {
            _ = try await WebSocketClient.connect(host: "127.0.0.1", port: port, path: "/ws", group: sharedGroup,
                                                  handshakeTimeout: .seconds(1))
        }
        #expect(error?.code == "ws_client.handshake_timeout", "\(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < 60, "gives up instead of hanging")
        try await mute.close()
    }

    @Test func manyClientsShareOneGroup() async throws {
        try await withServer { server in
            let count = 1000
            let started = Date()
            let clients = try await withThrowingTaskGroup(of: WebSocketClient.self) { group in
                for _ in 0..<count { group.addTask { try await connect(server, "/echo") } }
                var all: [WebSocketClient] = []
                for try await client in group { all.append(client) }
                return all
            }
            #expect(clients.count == count)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask {
                        try await client.send(text: "n\(index)")
                        #expect(try await client.next() == .text("n\(index)"))
                        await client.close()
                    }
                }
                try await group.waitForAll()
            }
            let seconds = Date().timeIntervalSince(started)
            print("\(count) clients: connect + echo + close in \(String(format: "%.2f", seconds)) s")
            #expect(seconds < 30)
        }
    }
}

@Suite("WebSocketClient against broken handshakes")
struct BrokenHandshakeTests {
    @Test func refusalWithoutContentLengthEndsAtConnectionClose() async throws {
        let server = try await RawResponseServer(
            group: sharedGroup, response: "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nX-Why: busy\r\n\r\ntry later",
            closeAfter: true)
        let refusal = await #expect(throws: WebSocketUpgradeRefused.self) {
            _ = try await WebSocketClient.connect(host: "127.0.0.1", port: server.port, path: "/ws", group: sharedGroup)
        }
        #expect(refusal?.status == 503)
        #expect(refusal?.body == "try later")
        #expect(refusal?.header("x-why") == "busy")
        await server.stop()
    }

    @Test func wrongAcceptKeyFailsTheHandshake() async throws {
        let server = try await RawResponseServer(
            group: sharedGroup,
            response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n",
            closeAfter: false)
        let error = await #expect(throws: WebSocketClientError.self) {
            _ = try await WebSocketClient.connect(host: "127.0.0.1", port: server.port, path: "/ws", group: sharedGroup)
        }
        #expect(error?.code == "ws_client.handshake_failed")
        await server.stop()
    }

    @Test func serverThatHangsUpBeforeAnsweringFailsTheHandshake() async throws {
        let server = try await RawResponseServer(group: sharedGroup, response: "", closeAfter: true)
        let error = await #expect(throws: WebSocketClientError.self) {
            _ = try await WebSocketClient.connect(host: "127.0.0.1", port: server.port, path: "/ws", group: sharedGroup)
        }
        #expect(error?.code == "ws_client.handshake_failed")
        await server.stop()
    }

    @Test func closeGivesUpOnAServerThatNeverEchoes() async throws {
        try await withServer { server in
            let client = try await connect(server, "/deaf")
            let started = Date()
            await client.close(code: 1000, echoTimeout: .milliseconds(200))
            #expect(Date().timeIntervalSince(started) < 15, "gives up instead of hanging")
            #expect(try await eventually { server.record.closeCodes == [1000] })
            #expect(try await client.next() == .disconnected)
        }
    }
}
