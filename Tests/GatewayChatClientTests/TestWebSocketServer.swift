import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// What the test server saw, read by the tests after the fact.
final class ServerRecord: Sendable {
    private struct Seen {
        var closeCodes: [UInt16] = []
        var becameUnwritable = false
        var texts: [String] = []
    }

    private let seen = Mutex(Seen())

    func recordClose(_ code: UInt16) { seen.withLock { $0.closeCodes.append(code) } }
    func recordUnwritable() { seen.withLock { $0.becameUnwritable = true } }
    func recordText(_ text: String) { seen.withLock { $0.texts.append(text) } }

    var closeCodes: [UInt16] { seen.withLock { $0.closeCodes } }
    var becameUnwritable: Bool { seen.withLock { $0.becameUnwritable } }
    var texts: [String] { seen.withLock { $0.texts } }
}

/// A tiny WebSocket server on 127.0.0.1:0 whose behaviour depends on the request path:
///   /refuse     → 401 with a JSON error body (no upgrade)
///   /greet      → after the 101 at once: "hello", a fragmented "fragmented", binary [1,2,3]
///   /headers    → sends "uri=<uri> auth=<Authorization>"
///   /wrongproto → answers a subprotocol the client never offered
///   /hangup     → closes TCP right after the upgrade, without a close frame
///   /deaf       → echoes, but never answers a close frame
///   /chat       → answers chat frames like the gateway (ack + event / typing signal)
///   anything else echoes, with commands: "close-me", "drop", "ping-me", "flood N".
/// Client data frames must be masked: an unmasked one is answered with close 1002.
final class TestWebSocketServer: Sendable {
    let record = ServerRecord()
    private let channel: Channel
    var port: Int { channel.localAddress!.port! }

    init(group: EventLoopGroup) async throws {
        let record = self.record
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let refuser = RefusingHTTPHandler()
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: 1 << 24, automaticErrorHandling: false,
                    shouldUpgrade: { channel, head in
                        channel.eventLoop.makeSucceededFuture(Self.upgradeHeaders(for: head))
                    },
                    upgradePipelineHandler: { channel, head in
                        channel.eventLoop.makeCompletedFuture {
                            let sync = channel.pipeline.syncOperations
                            _ = sync.removeHandler(refuser)
                            try sync.addHandlers([
                                MaskCheckHandler(),
                                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 64,
                                                            maxAccumulatedFrameSize: 1 << 24),
                                TestServerHandler(head: head, record: record),
                            ])
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(refuser)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }

    private static func upgradeHeaders(for head: HTTPRequestHead) -> HTTPHeaders? {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        if path == "/refuse" { return nil }
        var headers = HTTPHeaders()
        if path == "/wrongproto" {
            headers.add(name: "Sec-WebSocket-Protocol", value: "unoffered")
        } else if let offered = head.headers.first(name: "sec-websocket-protocol") {
            // Like the gateway: the first offer wins ("accessToken, <jwt>" → "accessToken").
            let first = offered.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
            if let first { headers.add(name: "Sec-WebSocket-Protocol", value: first) }
        }
        return headers
    }
}

/// Answers requests that were not upgraded the way the gateway does: 401 and a JSON error.
private final class RefusingHTTPHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let body = #"{"error":{"code":"auth.missing_token","message":"A token is required."}}"#
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "WWW-Authenticate", value: "Bearer")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .unauthorized, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// RFC 6455 §5.1: a server must close the connection on an unmasked client frame.
private final class MaskCheckHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.maskKey != nil else {
            var payload = context.channel.allocator.buffer(capacity: 16)
            payload.writeInteger(UInt16(1002))
            payload.writeString("unmasked")
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        }
        context.fireChannelRead(data)
    }
}

private final class TestServerHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let head: HTTPRequestHead
    private let record: ServerRecord
    private var path: String { head.uri.split(separator: "?").first.map(String.init) ?? head.uri }

    init(head: HTTPRequestHead, record: ServerRecord) {
        self.head = head
        self.record = record
    }

    func handlerAdded(context: ChannelHandlerContext) {
        switch path {
        case "/greet":
            send(context, .text, "hello", fin: true)
            send(context, .text, "frag", fin: false)
            send(context, .continuation, "ment", fin: false)
            send(context, .continuation, "ed", fin: true)
            let binary = WebSocketFrame(fin: true, opcode: .binary, data: context.channel.allocator.buffer(bytes: [1, 2, 3]))
            context.writeAndFlush(wrapOutboundOut(binary), promise: nil)
        case "/headers":
            let auth = head.headers.first(name: "authorization") ?? "-"
            send(context, .text, "uri=\(head.uri) auth=\(auth)", fin: true)
        case "/hangup":
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let payload = frame.unmaskedData
        switch frame.opcode {
        case .text:
            let text = String(buffer: payload)
            record.recordText(text)
            if path == "/chat" { answerChat(context, text) } else { answerEcho(context, text) }
        case .binary:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: payload)), promise: nil)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: payload)), promise: nil)
        case .pong:
            send(context, .text, "pong:" + String(buffer: payload), fin: true)
        case .connectionClose where path == "/deaf":
            // Records the close but never echoes it, like a stuck peer.
            var reader = payload
            record.recordClose(reader.readInteger(as: UInt16.self) ?? 1005)
        case .connectionClose:
            var reader = payload
            let code = reader.readInteger(as: UInt16.self) ?? 1005
            record.recordClose(code)
            // Echo the close (RFC 6455 §5.5.1), then the server closes TCP first.
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            break
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable { record.recordUnwritable() }
    }

    private func answerEcho(_ context: ChannelHandlerContext, _ text: String) {
        if text == "close-me" {
            var body = context.channel.allocator.buffer(capacity: 8)
            body.writeInteger(UInt16(4001))
            body.writeString("bye")
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: body)), promise: nil)
        } else if text == "drop" {
            context.close(promise: nil)
        } else if text == "ping-me" {
            let ping = WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(string: "abc"))
            context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
        } else if text.hasPrefix("flood "), let count = Int(text.dropFirst(6)) {
            let chunk = String(repeating: "x", count: 64 * 1024)
            for index in 0..<count {
                let frame = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: "\(index):" + chunk))
                context.write(wrapOutboundOut(frame), promise: nil)
            }
            context.flush()
        } else {
            send(context, .text, text, fin: true)
        }
    }

    /// Just enough of the gateway's client protocol for the terminal chat: ack every frame, turn a
    /// publish into an event from "Echo", a typing frame into a typing signal, "bye-now" into close 4001.
    private func answerChat(_ context: ChannelHandlerContext, _ text: String) {
        guard let frame = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let type = frame["type"] as? String else {
            return send(context, .text, #"{"type":"error","error":{"code":"client.invalid_json","message":"bad frame"}}"#, fin: true)
        }
        let ref = frame["ref"] as? String ?? ""
        send(context, .text, #"{"type":"ack","ref":"\#(ref)","id":7}"#, fin: true)
        if type == "publish" {
            let message = (frame["event"] as? [String: Any])?["message"] as? String ?? ""
            if message == "bye-now" {
                var body = context.channel.allocator.buffer(capacity: 8)
                body.writeInteger(UInt16(4001))
                body.writeString("bye")
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: body)), promise: nil)
                return
            }
            let event: [String: Any] = ["id": 7, "category": "chat.message", "action": "message", "message": "echo: " + message,
                                        "source": ["id": "user:echo", "title": "Echo"], "timestamp": "2024-05-01T10:20:30.000Z"]
            let data = try! JSONSerialization.data(withJSONObject: event)
            send(context, .text, String(decoding: data, as: UTF8.self), fin: true)
        } else if type == "typing" {
            send(context, .text, #"{"type":"typing","source":{"id":"user:echo","title":"Echo"}}"#, fin: true)
        }
    }

    private func send(_ context: ChannelHandlerContext, _ opcode: WebSocketOpcode, _ text: String, fin: Bool) {
        let frame = WebSocketFrame(fin: fin, opcode: opcode, data: context.channel.allocator.buffer(string: text))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}
