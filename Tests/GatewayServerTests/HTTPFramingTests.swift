import Foundation
import Testing

/// Most answers leave as one ready buffer written below NIO's HTTP encoder
/// (HTTPResponse+Wire.swift). Their framing must be what the encoder wrote: a HEAD answer keeps
/// its Content-Length and has no body (so a pipelined request's answer follows at once), the
/// status line names the request's HTTP version, and `Connection: close` is said when the
/// connection closes. Checked on the raw bytes of one socket.
@Suite struct HTTPFramingTests {
    @Test func aHeadAnswerHasContentLengthButNoBodyAndThePipelinedAnswerFollows() throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bytes = try Self.exchange(port: gateway.port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                      + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let text = String(decoding: bytes, as: UTF8.self)
        let heads = text.components(separatedBy: "HTTP/1.1 200 OK\r\n")
        #expect(heads.count == 3, "two answers: \(text)")
        guard heads.count == 3 else { return }
        // The HEAD answer: its head, then directly the next status line.
        let headAnswer = heads[1]
        #expect(headAnswer.hasSuffix("\r\n\r\n"), "nothing after the HEAD answer's head: \(headAnswer)")
        let length = try #require(Self.contentLength(headAnswer))
        #expect(length > 0)
        #expect(!headAnswer.lowercased().contains("connection: close"))
        // The GET answer: the same length, the body, and the close announced.
        let getAnswer = heads[2]
        #expect(Self.contentLength(getAnswer) == length)
        #expect(getAnswer.contains("Connection: close\r\n"))
        let body = try #require(getAnswer.components(separatedBy: "\r\n\r\n").last)
        #expect(body.utf8.count == length)
        #expect(body.contains("\"status\""))
    }

    /// Up to 16 requests may follow the first in one read (or wait behind the one being
    /// answered), and every one is answered; a deeper pipeline closes the connection at once
    /// (HTTPRequestHandler.maxQueuedRequests), so the gateway neither answers nor parses the rest.
    @Test func aShallowPipelineIsAnsweredInFullAndADeepOneIsClosedAtOnce() throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        let shallow = String(decoding: try Self.exchange(port: gateway.port, String(repeating: request, count: 10)
                                                         + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), as: UTF8.self)
        #expect(shallow.components(separatedBy: "HTTP/1.1 200 OK\r\n").count - 1 == 11, "\(shallow)")

        let started = Date()
        let deep = String(decoding: try Self.exchange(port: gateway.port, String(repeating: request, count: 200)), as: UTF8.self)
        #expect(Date().timeIntervalSince(started) < 8, "the deep pipeline's connection was not closed by the server")
        // At most 17 per read; TCP may cut the 200 requests into a few reads.
        #expect(deep.components(separatedBy: "HTTP/1.1 200 OK\r\n").count - 1 <= 3 * 17, "\(deep)")
        // The gateway goes on serving.
        #expect(try gateway.http("GET", "/healthz").status == 200)
    }

    @Test func anHTTP10RequestIsAnsweredInHTTP10AndTheConnectionCloses() throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bytes = try Self.exchange(port: gateway.port, "GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(text)")
        #expect(text.contains("Connection: close\r\n"))
        let response = try RawHTTP.parse(bytes)
        #expect(Int(response.header("Content-Length") ?? "") == response.body.count)
        #expect(response.header("Content-Type") == "application/json")
    }

    /// Sends `request` and reads until the gateway closes the connection.
    private static func exchange(port: Int, _ request: String) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard PartialRequest.connect(fd, port: port) else { throw TestFailure("connect to 127.0.0.1:\(port) failed") }
        try RawHTTP.sendAll(fd, Array(request.utf8))
        return RawHTTP.readUntilClosed(fd)
    }

    private static func contentLength(_ head: String) -> Int? {
        for line in head.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            return Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
