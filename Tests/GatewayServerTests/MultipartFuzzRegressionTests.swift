import Foundation
@testable import GatewayCore
@testable import GatewayServer
import NIOCore
import Testing

/// Inputs the FuzzMultipart fuzz target found (kept in Fuzz/Regressions/FuzzMultipart): each
/// must be refused with a stable code, never crash the gateway.
@Suite struct MultipartFuzzRegressionTests {
    static let regressions = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Regressions/FuzzMultipart")

    /// Feeds `body` in `chunkSize`-byte chunks as AttachmentUpload does; the refusal's code, if any.
    static func refusal(_ body: [UInt8], boundary: String, chunkSize: Int) -> String? {
        let extractor = MultipartFileExtractor(boundary: boundary)
        var offset = 0
        while offset < body.count {
            let end = min(offset + chunkSize, body.count)
            do { _ = try extractor.feed(ByteBuffer(bytes: body[offset..<end])) } catch { return error.code }
            offset = end
        }
        return nil
    }

    /// MultipartKit 4.7.1 trapped (the process died) on a header-name byte >= 0x80.
    @Test func nonASCIIHeaderNameIsRefusedNotACrash() throws {
        // The fuzz input: a chunk-size byte, the Content-Type line, then the body.
        let input = Array(try Data(contentsOf: Self.regressions.appendingPathComponent("non-ascii-header-name")))
        let newline = try #require(input.firstIndex(of: UInt8(ascii: "\n")))
        let contentType = String(decoding: input[1..<newline], as: UTF8.self)
        let boundary = try #require(MultipartFileExtractor.boundary(fromContentType: contentType))
        let body = Array(input[(newline + 1)...])
        for chunkSize in [Int(input[0]) + 1, 1, 7, body.count] {
            #expect(Self.refusal(body, boundary: boundary, chunkSize: chunkSize) == "attachment.bad_multipart", "chunks of \(chunkSize)")
        }
    }

    /// The second finding: a bare LF inside a header value. MultipartKit ends header lines at
    /// CR LF only, so after `Content-Type: image/="a \n` + CR LF it reads the PNG's 0x89 as the
    /// next header name and trapped; the guard had taken the bare LF for a line end.
    @Test func bareLFInHeaderValueThenBinaryIsRefusedNotACrash() throws {
        let input = Array(try Data(contentsOf: Self.regressions.appendingPathComponent("bare-lf-in-header-value")))
        let newline = try #require(input.firstIndex(of: UInt8(ascii: "\n")))
        let contentType = String(decoding: input[1..<newline], as: UTF8.self)
        let boundary = try #require(MultipartFileExtractor.boundary(fromContentType: contentType))
        let body = Array(input[(newline + 1)...])
        for chunkSize in [Int(input[0]) + 1, 1, 2, 3, 5, 16, body.count] {
            #expect(Self.refusal(body, boundary: boundary, chunkSize: chunkSize) == "attachment.bad_multipart", "chunks of \(chunkSize)")
        }
    }

    /// A bare LF in a header value does not end the header block wherever the body is cut; a
    /// well-formed part after such a value still uploads (MultipartKit keeps the LF in the value).
    @Test func bareLFInHeaderValueDoesNotEndTheLine() throws {
        let refused = Array("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nX-Note: a\n\r\n\u{89}PNG\r\n\r\ndata\r\n--B--\r\n".utf8)
        for cut in 0...refused.count {
            let extractor = MultipartFileExtractor(boundary: "B")
            var code: String?
            for part in [refused[..<cut], refused[cut...]] {
                do { _ = try extractor.feed(ByteBuffer(bytes: part)) } catch { code = error.code; break }
            }
            #expect(code == "attachment.bad_multipart", "cut at \(cut)")
        }
        let accepted = Array("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nX-Note: a\nb\r\n\r\ndata\r\n--B--\r\n".utf8)
        for chunkSize in [1, 3, accepted.count] {
            let extractor = MultipartFileExtractor(boundary: "B")
            var file: [UInt8] = []
            var offset = 0
            while offset < accepted.count {
                let end = min(offset + chunkSize, accepted.count)
                var bytes = try extractor.feed(ByteBuffer(bytes: accepted[offset..<end]))
                file += bytes.readBytes(length: bytes.readableBytes) ?? []
                offset = end
            }
            #expect(file == Array("data".utf8), "chunks of \(chunkSize)")
            #expect(extractor.fileComplete)
        }
    }

    @Test func nonASCIIHeaderNameIsRefusedWhereverTheChunksAreCut() {
        let body = Array("--B\r\nContent-Disposition: form-data; name=\"file\"\r\nX-\u{e9}: 1\r\n\r\ndata\r\n--B--\r\n".utf8)
        for cut in 0...body.count {
            let extractor = MultipartFileExtractor(boundary: "B")
            var code: String?
            for part in [body[..<cut], body[cut...]] {
                do { _ = try extractor.feed(ByteBuffer(bytes: part)) } catch { code = error.code; break }
            }
            #expect(code == "attachment.bad_multipart", "cut at \(cut)")
        }
    }

    /// The check looks at header names only: UTF-8 file names and binary bodies still upload,
    /// however the body is cut into chunks.
    @Test func nonASCIIValuesAndBodiesStillUpload() throws {
        let content: [UInt8] = Array("\u{e9}t\u{e9}: \u{fc}ber\r\n\u{ff}: x\r\n".utf8) + [0xff, 0x80, 0x0d, 0x0a, 0xc3, 0x3a]
        let body = Array("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\u{e9}t\u{e9}.txt\"\r\n\r\n".utf8)
            + content + Array("\r\n--B--\r\n".utf8)
        for chunkSize in [1, 2, 3, 5, 16, body.count] {
            let extractor = MultipartFileExtractor(boundary: "B")
            var file: [UInt8] = []
            var offset = 0
            while offset < body.count {
                let end = min(offset + chunkSize, body.count)
                var bytes = try extractor.feed(ByteBuffer(bytes: body[offset..<end]))
                file += bytes.readBytes(length: bytes.readableBytes) ?? []
                offset = end
            }
            #expect(file == content, "chunks of \(chunkSize)")
            #expect(extractor.fileName == "\u{e9}t\u{e9}.txt")
            #expect(extractor.fileComplete)
        }
    }

    /// A header that never ends is refused once its block passes the limit, not when (if ever)
    /// its line ends: MultipartKit would hold it and copy it whole on every chunk.
    @Test func endlessHeaderIsRefusedAtTheLimit() {
        let extractor = MultipartFileExtractor(boundary: "B")
        var fed = 0
        var code: String?
        do {
            _ = try extractor.feed(ByteBuffer(string: "--B\r\nX-Long: "))
            while fed < 1_000_000 {
                _ = try extractor.feed(ByteBuffer(repeating: UInt8(ascii: "a"), count: 1024))
                fed += 1024
            }
        } catch {
            code = error.code
            #expect(error.message.contains("16384"), "\(error.message)")
        }
        #expect(code == "attachment.bad_multipart")
        #expect(fed <= MultipartFileExtractor.maximumPartHeaderBytes, "refused only after \(fed) bytes")
    }

    /// Through the real server: the upload is answered 400 and the gateway keeps serving.
    @Test func uploadWithNonASCIIHeaderNameIs400AndTheGatewayLives() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let body = Array("--B\r\n\u{b6}ontent-Disposition: attachment; filename=x\r\n\r\nunfinished".utf8)
        let response = try gateway.http("POST", "/api/v1/attachments", token: gateway.token("alice"),
                                        headers: [("Content-Type", "multipart/form-data; boundary=B")], body: body)
        #expect(response.status == 400, "\(response.text)")
        #expect(response.attachmentErrorCode == "attachment.bad_multipart")
        let health = try gateway.http("GET", "/healthz", token: nil, headers: [], body: [])
        #expect(health.status == 200)
    }
}
