import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Creates the rooms scenario's rooms on the gateway before anyone connects: `POST
/// /api/v1/rooms` with the publisher's token (so the publisher is a member allowed to write,
/// which a room publish needs) and the room's members. Rooms are created over a few keep-alive
/// connections, one request in flight on each; the answer's `id` addresses the room's events.
enum RoomSetup {
    /// Room `r` holds users `r * membersPerRoom ..< (r + 1) * membersPerRoom`; returns the ids in
    /// order. One request at a time: 1,000 rooms take a few seconds, outside the measured window.
    static func createRooms(count: Int, membersPerRoom: Int, target: ServerTarget, group: EventLoopGroup) throws -> [String] {
        let headers = target.publishHeaders()
        let client: BlockingHTTPClient
        do { client = try BlockingHTTPClient(group: group, host: target.host, port: target.port) } catch {
            throw BenchError.connectFailed("cannot open the room setup connection: \(error)")
        }
        defer { client.close() }
        var ids: [String] = []
        ids.reserveCapacity(count)
        for room in 0..<count {
            let members = (0..<membersPerRoom).map { "{\"id\":\"user-\(room * membersPerRoom + $0)\"}" }
            let body = "{\"title\":\"bench room \(room)\",\"members\":[\(members.joined(separator: ","))]}"
            let (status, answer) = try client.post("/api/v1/rooms", headers: headers, body: body)
            guard status == 201,
                  let object = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any],
                  let id = object["id"] else {
                throw BenchError(code: "bench.room_setup_failed",
                                 message: "POST /api/v1/rooms answered \(status): \(answer.prefix(300))")
            }
            ids.append("\(id)")
        }
        return ids
    }
}

/// One keep-alive HTTP/1.1 connection used from a plain thread: each request blocks until its
/// answer is in. For setup steps only, never on the measured path.
final class BlockingHTTPClient {
    private let channel: Channel
    private let answers: HTTPAnswerCollector

    init(group: EventLoopGroup, host: String, port: Int) throws {
        let answers = HTTPAnswerCollector()
        self.answers = answers
        channel = try ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.pipeline.addHTTPClientHandlers().flatMap { channel.pipeline.addHandler(answers) }
            }
            .connect(host: host, port: port).wait()
    }

    func post(_ uri: String, headers: HTTPHeaders, body: String) throws -> (UInt, String) {
        var requestHeaders = headers
        requestHeaders.replaceOrAdd(name: "Content-Length", value: String(body.utf8.count))
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: requestHeaders)
        let answer = try channel.eventLoop.flatSubmit { [channel, answers] in
            let promise = channel.eventLoop.makePromise(of: (UInt, String).self)
            answers.expect(promise)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(string: body))), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return promise.futureResult
        }.wait()
        return answer
    }

    func close() { _ = try? channel.close().wait() }
}

/// Collects one response at a time for BlockingHTTPClient.
// @unchecked: its state is used on its channel's event loop only (expect is called there too).
final class HTTPAnswerCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private var promise: EventLoopPromise<(UInt, String)>?
    private var status: UInt = 0
    private var body = ""

    func expect(_ promise: EventLoopPromise<(UInt, String)>) {
        self.promise = promise
        status = 0
        body = ""
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = head.status.code
        case .body(let bytes): body += String(buffer: bytes)
        case .end:
            promise?.succeed((status, body))
            promise = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(BenchError(code: "bench.room_setup_failed", message: "the server closed the setup connection"))
        promise = nil
        context.fireChannelInactive()
    }
}

