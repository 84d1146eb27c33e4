// libFuzzer target: bytes a WebSocket client sends after the upgrade (scripts/fuzz.sh
// FuzzWebSocketFrames).
//
// Each input is one connection on an EmbeddedChannel: the server's HTTP codec with the real
// WebSocketEndpoint upgrader (the gateway's own `makeUpgrader`, which installs NIO's frame
// decoder and protocol error handler, then WebSocketFrameRules, NIOWebSocketFrameAggregator,
// ClientFrameReader with ClientProtocol, and ClientConnection), a fixed valid upgrade request
// with a real token, then the input: its first byte sets the chunk size, the rest are the
// client's bytes. Published events go through the real EventPipeline to an engine that only
// counts them. Room and replay work needs the blocking pool, which is never started here, so it
// is refused at once on the connection's loop and nothing leaves the fuzzer's thread.
// Not covered here: ConnectionPipeline's admission and clocks (they need the whole HTTP API).
//
// The promises checked: never a crash; everything the server writes back is well-formed server
// framing (unmasked, no RSV bits, valid close codes, UTF-8 JSON text); no data frame after its
// close frame; and a client that breaks framing is answered with a close, not ignored.
import Atomics
import Foundation
@testable import GatewayAuth
@testable import GatewayCore
@testable import GatewayServer
import GatewayJSON
import GatewayStore
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Ids for published events; records and delivers nothing.
final class CountingEngine: EventEngine {
    let kind = "fuzz"
    let mayBlock = false
    private let counter = ManagedAtomic<Int64>(0)
    func nextEventId() throws(GatewayError) -> Int64 { counter.wrappingIncrementThenLoad(ordering: .relaxed) }
    func publish(_ event: OutboundEvent) throws(GatewayError) {}
    func signal(_ event: OutboundEvent, completion: @escaping @Sendable (Result<Void, GatewayError>) -> Void) {
        completion(.success(()))
    }
    func events(after id: Int64, for reader: Recipient, limit: Int) throws(GatewayError) -> [RecordedEvent] { [] }
    func recentEvents(for reader: Recipient, sinceTimestamp: String?, limit: Int) throws(GatewayError) -> [RecordedEvent] { [] }
    var health: EngineHealth { .ok }
    func shutdown() {}
}

let loop = EmbeddedEventLoop()
let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
let secret = Array("fuzz-secret-0123456789".utf8)
let endpoint: WebSocketEndpoint = {
    let engine = CountingEngine()
    let chain = ChainReference(.empty)
    let pipeline = EventPipeline(
        normalize: NormalizeStep(defaultHost: "fuzz.example"), attachments: AttachmentStep(resolver: nil),
        targets: TargetStep(rooms: nil), engine: engine, chain: chain, blocking: InlineExecutor(),
        counters: .labelled("fuzz"), later: nil)
    // Never started: work sent to it fails at once on the caller's loop (runIfActive).
    let idlePool = NIOThreadPool(numberOfThreads: 1)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-fuzz-\(getpid())").path
    try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let history = try! HistoryStore(path: directory + "/history.sqlite", logger: logger)
    let rooms = RoomService(store: try! SQLiteRoomStore(history: history, logger: logger), engine: engine, logger: logger)
    let verifier = try! TokenVerifier(settings: AuthSettings(hs256Secret: secret))
    return WebSocketEndpoint(
        authenticator: Authenticator(verifier: verifier, cache: VerifiedTokenCache()), pipeline: pipeline,
        rooms: RoomSignals(rooms: rooms, pipeline: pipeline, pool: idlePool),
        fanOut: FanOut(loops: [loop], metrics: .shared),
        replay: HistoryReplay(engine: engine, chain: chain, pool: idlePool, limit: 50, logger: logger),
        hosts: HostPolicy(defaultHost: "fuzz.example", grants: [:]),
        // A small message limit so the fuzzer reaches 1009; no frame rate limit (it reads the
        // clock, and a verdict that depends on time cannot be replayed).
        reader: .init(maxMessageBytes: 4096, framesPerSecond: 1_000_000_000, frameBurst: 1_000_000_000),
        writer: .init(maxOutboundBytes: 1 << 20, closeTimeoutSeconds: 5, pingInterval: nil, pongTimeout: .seconds(10)),
        metrics: .shared, logger: logger)
}()
let token = TokenMinter.hs256(secret: secret, subject: "user:fuzz", principals: ["group:fuzzers"], title: "Fuzz",
                              publish: true, ttlSeconds: 86_400 * 365, now: Int(Date().timeIntervalSince1970))
let upgradeRequest = "GET /ws HTTP/1.1\r\nHost: fuzz.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    + "Authorization: Bearer \(token)\r\n\r\n"

/// The server's bytes after its 101 answer, read back as a client reads them.
func checkServerFrames(_ bytes: ByteBuffer, clientBrokeFraming: Bool) {
    var bytes = bytes
    let head = bytes.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8))
    guard let head, bytes.readableBytesView.starts(with: Array("HTTP/1.1 101".utf8)) else {
        preconditionFailure("the upgrade was not answered 101")
    }
    bytes.moveReaderIndex(forwardBy: head.upperBound - bytes.readableBytesView.startIndex)
    let client = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)))
    defer { _ = try? client.finish() }
    do { try client.writeInbound(bytes) } catch { preconditionFailure("the server wrote bad framing: \(error)") }
    var closed = false
    var seen: [String] = []
    while let frame = try! client.readInbound(as: WebSocketFrame.self) {
        seen.append("\(frame.opcode) \(String(buffer: frame.data).debugDescription)")
        // RFC 6455 §5.5.1: no data frame after a Close frame. (A second Close frame can follow:
        // WebSocketFrameRules and NIO's protocol error handler each close on their own.)
        precondition(!closed || ![.text, .binary, .continuation].contains(frame.opcode), "a data frame after the server's close frame: \(seen)")
        precondition(frame.maskKey == nil, "a masked server frame")
        precondition(!frame.rsv1 && !frame.rsv2 && !frame.rsv3, "RSV bits in a server frame")
        var data = frame.data
        switch frame.opcode {
        case .text:
            let text = data.readString(length: data.readableBytes) ?? ""
            precondition((try? JSON.parse(text))?.view.isObject == true, "a text frame that is not a JSON object: \(text)")
        case .connectionClose:
            closed = true
            if data.readableBytes > 0 {
                let code = data.readInteger(as: UInt16.self) ?? 0
                precondition(ClientFrameReader.isValidCloseCode(code), "close code \(code) may not be sent")
                precondition(String(validating: data.readableBytesView, as: UTF8.self) != nil, "close reason not UTF-8")
            }
        case .pong, .binary, .ping:
            break
        default:
            preconditionFailure("server frame with opcode \(frame.opcode)")
        }
    }
    if clientBrokeFraming { precondition(closed, "the client broke the framing and got no close frame") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let chunkSize = Int(data[0]) + 1
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)

    let channel = EmbeddedChannel(loop: loop)
    let setup = ConnectionSetup()
    try! channel.pipeline.syncOperations.configureHTTPServerPipeline(
        withPipeliningAssistance: false,
        withServerUpgrade: (upgraders: [endpoint.makeUpgrader(setup: setup)], completionHandler: { _ in }),
        withErrorHandling: true)
    try! channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
    try! channel.writeInbound(ByteBuffer(string: upgradeRequest))
    loop.run()
    precondition(setup.accepted != nil, "the fixed upgrade request was refused: \(String(describing: setup.refusal))")

    var brokeFraming = false
    var offset = 0
    while offset < input.count, channel.isActive {
        let end = min(offset + chunkSize, input.count)
        do {
            try channel.writeInbound(ByteBuffer(bytes: UnsafeBufferPointer(rebasing: input[offset..<end])))
        } catch {
            // An error that reached the end of the pipeline: NIO's decoder refused the framing.
            brokeFraming = true
        }
        loop.run()
        offset = end
    }
    var written = ByteBuffer()
    while let chunk = try? channel.readOutbound(as: ByteBuffer.self) {
        var chunk = chunk
        written.writeBuffer(&chunk)
    }
    checkServerFrames(written, clientBrokeFraming: brokeFraming)
    _ = try? channel.close().wait()
    loop.run()
    _ = try? channel.finish()
    return 0
}
