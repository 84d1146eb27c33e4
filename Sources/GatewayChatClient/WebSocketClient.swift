import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A WebSocket client for the gateway's protocol, small enough for tests to open a thousand of
/// them on one shared `EventLoopGroup`. Incoming messages are queued in arrival order and handed
/// out by `next`; pings are answered automatically; close frames are surfaced, never answered on
/// their own, so protocol tests can see exactly what the server does.
public final class WebSocketClient: Sendable {
    // Immutable after connect; the mutable state lives in `inbox`, confined to `channel.eventLoop`.
    private let channel: Channel
    private let inbox: WebSocketInbox
    public let negotiatedSubprotocol: String?

    private init(channel: Channel, inbox: WebSocketInbox, negotiatedSubprotocol: String?) {
        self.channel = channel
        self.inbox = inbox
        self.negotiatedSubprotocol = negotiatedSubprotocol
    }

    /// Opens a TCP connection and performs the RFC 6455 upgrade.
    ///
    /// - Parameters:
    ///   - path: the request target, query included ("/ws?token=...").
    ///   - headers: extra request headers (e.g. `("Authorization", "Bearer ...")`). A `Host`
    ///     header here replaces the default `host:port`.
    ///   - subprotocols: sent as one `Sec-WebSocket-Protocol` header; the server must choose one
    ///     of them or none.
    ///   - maxFrameSize: the largest frame, and the largest reassembled message, accepted.
    ///   - handshakeTimeout: how long to wait for the TCP connect plus the server's upgrade answer.
    /// - Throws: `WebSocketUpgradeRefused` when the server answers with a plain HTTP response,
    ///   `WebSocketClientError` for everything else.
    public static func connect(
        host: String, port: Int, path: String,
        headers: [(String, String)] = [], subprotocols: [String] = [],
        maxFrameSize: Int = 1 << 24, group: EventLoopGroup,
        handshakeTimeout: TimeAmount = .seconds(10)
    ) async throws -> WebSocketClient {
        guard path.hasPrefix("/") else { throw WebSocketClientError.invalidPath }
        let eventLoop = group.next()
        let handshake = UpgradeHandshake(eventLoop: eventLoop)
        let inbox = WebSocketInbox(maxMessageSize: maxFrameSize)

        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(handshakeTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try installUpgradePipeline(channel: channel, handshake: handshake, inbox: inbox,
                                               offered: subprotocols, maxFrameSize: maxFrameSize)
                }
            }

        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            let failure = WebSocketClientError.connectFailed(host: host, port: port, error)
            // Settle the handshake too: NIO traps on promises that are dropped unfulfilled.
            eventLoop.execute { handshake.fail(failure) }
            throw failure
        }

        let request = upgradeRequest(host: host, port: port, path: path, headers: headers, subprotocols: subprotocols)
        channel.write(HTTPClientRequestPart.head(request), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)

        let timeout = eventLoop.scheduleTask(in: handshakeTimeout) {
            handshake.fail(WebSocketClientError.handshakeTimeout(handshakeTimeout))
        }
        do {
            let subprotocol = try await handshake.futureResult.get()
            timeout.cancel()
            return WebSocketClient(channel: channel, inbox: inbox, negotiatedSubprotocol: subprotocol)
        } catch {
            timeout.cancel()
            try? await channel.close()
            throw error
        }
    }

    /// Sends one text message in a single masked frame.
    public func send(text: String) async throws {
        let frame = WebSocketFrame(fin: true, opcode: .text, data: channel.allocator.buffer(string: text))
        try await send(frame: frame)
    }

    /// Sends a raw frame for protocol tests: fragments (`fin: false` then `.continuation`),
    /// binary, ping, close with any payload. A frame without a mask key gets a random one, since
    /// RFC 6455 requires every client frame to be masked.
    public func send(frame: WebSocketFrame) async throws {
        var frame = frame
        if frame.maskKey == nil { frame.maskKey = .random() }
        try await write(frame)
    }

    /// Sends a frame exactly as given, even unmasked: only for tests of how a server treats a
    /// client that breaks RFC 6455.
    public func sendUnmasked(frame: WebSocketFrame) async throws {
        var frame = frame
        frame.maskKey = nil
        try await write(frame)
    }

    /// The next message in arrival order.
    ///
    /// - Throws: `WebSocketClientError` with code `ws_client.timeout` if nothing arrives in time,
    ///   or the protocol error that ended the connection.
    public func next(timeout: TimeAmount = .seconds(5)) async throws -> WebSocketMessage {
        let eventLoop = channel.eventLoop
        let inbox = self.inbox
        return try await eventLoop.flatSubmit {
            inbox.next(timeout: timeout, eventLoop: eventLoop)
        }.get()
    }

    /// Sends a close frame with `code`, waits up to `echoTimeout` for the server's close frame,
    /// then closes the TCP connection. Never throws: closing a closed client does nothing.
    public func close(code: UInt16 = 1000, echoTimeout: TimeAmount = .seconds(1)) async {
        let eventLoop = channel.eventLoop
        let inbox = self.inbox
        try? await eventLoop.flatSubmit {
            inbox.close(code: code, echoTimeout: echoTimeout, eventLoop: eventLoop)
        }.get()
    }

    /// Stops reading from the socket, so what the server writes piles up in the kernel buffers
    /// and then in the server's own outbound queue ("slow consumer" tests).
    public func pauseReading() {
        channel.setOption(.autoRead, value: false).whenComplete { _ in }
    }

    /// Reads again after `pauseReading`.
    public func resumeReading() {
        let channel = self.channel
        channel.setOption(.autoRead, value: true).whenSuccess { channel.read() }
    }

    /// Completes when the TCP connection is closed, by either side.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    // MARK: Private

    private func write(_ frame: WebSocketFrame) async throws {
        if frame.opcode == .connectionClose {
            let inbox = self.inbox
            channel.eventLoop.execute { inbox.markCloseSent() }
        }
        do {
            try await channel.writeAndFlush(frame)
        } catch ChannelError.ioOnClosedChannel {
            throw WebSocketClientError.notConnected
        } catch ChannelError.alreadyClosed {
            throw WebSocketClientError.notConnected
        } catch ChannelError.outputClosed {
            throw WebSocketClientError.notConnected
        }
    }

    private static func installUpgradePipeline(
        channel: Channel, handshake: UpgradeHandshake, inbox: WebSocketInbox,
        offered: [String], maxFrameSize: Int
    ) throws {
        let encoder = HTTPRequestEncoder()
        // .forwardBytes: frames the server sends right behind its 101 must not be lost.
        let decoder = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes))
        let refusalCollector = UpgradeRefusalCollector(handshake: handshake)
        let upgrader = NIOWebSocketClientUpgrader(
            maxFrameSize: maxFrameSize,
            // Our inbox reports protocol errors itself; NIO's handler would answer with an
            // unmasked close frame, which a client must never send.
            automaticErrorHandling: false
        ) { channel, response in
            let chosen = response.headers.first(name: "sec-websocket-protocol")
            if let chosen, !offered.contains(chosen) {
                handshake.fail(WebSocketClientError.subprotocolNotOffered(chosen, offered: offered))
                return channel.close()
            }
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(inbox)
                handshake.succeed(subprotocol: chosen)
            }
        }
        let upgradeHandler = NIOHTTPClientUpgradeHandler(
            upgraders: [upgrader],
            httpHandlers: [encoder, decoder, refusalCollector],
            upgradeCompletionHandler: { _ in }
        )
        try channel.pipeline.syncOperations.addHandlers([encoder, decoder, upgradeHandler, refusalCollector])
    }

    private static func upgradeRequest(host: String, port: Int, path: String,
                                       headers extra: [(String, String)], subprotocols: [String]) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        if !extra.contains(where: { $0.0.lowercased() == "host" }) {
            headers.add(name: "Host", value: "\(host):\(port)")
        }
        for (name, value) in extra { headers.add(name: name, value: value) }
        if !subprotocols.isEmpty {
            headers.add(name: "Sec-WebSocket-Protocol", value: subprotocols.joined(separator: ", "))
        }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
    }
}
