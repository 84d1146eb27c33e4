@testable import GatewayServer
import Testing

/// The pure pieces of the attachment API, without sockets.
@Suite struct AttachmentParsingTests {
    @Test func byteRanges() {
        #expect(ByteRange.resolve(nil, size: 100) == .whole)
        #expect(ByteRange.resolve("bytes=0-9", size: 100) == .partial(offset: 0, length: 10))
        #expect(ByteRange.resolve("bytes=90-200", size: 100) == .partial(offset: 90, length: 10))
        #expect(ByteRange.resolve("bytes=-10", size: 100) == .partial(offset: 90, length: 10))
        #expect(ByteRange.resolve("bytes=-500", size: 100) == .partial(offset: 0, length: 100))
        #expect(ByteRange.resolve("bytes=50-", size: 100) == .partial(offset: 50, length: 50))
        #expect(ByteRange.resolve("bytes=100-", size: 100) == .unsatisfiable)
        #expect(ByteRange.resolve("bytes=-0", size: 100) == .unsatisfiable)
        #expect(ByteRange.resolve("bytes=0-1,5-6", size: 100) == .whole, "several ranges: the whole file")
        #expect(ByteRange.resolve("bytes=9-3", size: 100) == .whole, "malformed: ignored")
        #expect(ByteRange.resolve("items=0-3", size: 100) == .whole)
        #expect(ByteRange.resolve("bytes=abc", size: 100) == .whole)
    }

    @Test func contentDispositionParameters() {
        let parameters = MultipartFileExtractor.dispositionParameters(#"form-data; name="file"; filename="a \"b\"; c.png""#)
        #expect(parameters["name"] == "file")
        #expect(parameters["filename"] == #"a "b"; c.png"#)
        #expect(MultipartFileExtractor.dispositionParameters("form-data; name=plain")["name"] == "plain")
        #expect(MultipartFileExtractor.boundary(fromContentType: #"multipart/form-data; boundary="x y""#) == "x y")
        #expect(MultipartFileExtractor.boundary(fromContentType: "multipart/form-data") == nil)
        #expect(MultipartFileExtractor.boundary(fromContentType: "multipart/form-data; boundary=" + String(repeating: "a", count: 71)) == nil)
    }

    @Test func fileNamesAreDisplayNamesOnly() {
        #expect(DeclaredFile.sanitizedName("../../etc/passwd") == "passwd")
        #expect(DeclaredFile.sanitizedName(#"C:\Users\x\photo.png"#) == "photo.png")
        #expect(DeclaredFile.sanitizedName("a\u{0}b\nc.png") == "abc.png")
        #expect(DeclaredFile.sanitizedName("..") == "attachment")
        #expect(DeclaredFile.sanitizedName(nil) == "attachment")
        #expect(DeclaredFile.sanitizedName(String(repeating: "é", count: 300)).utf8.count <= 255)
        #expect(DeclaredFile.normalizedMIME("Image/PNG; charset=binary") == "image/png")
        #expect(DeclaredFile.normalizedMIME(nil) == "application/octet-stream")
        #expect(DeclaredFile.defaultType(forMIME: "image/gif") == "image")
        #expect(DeclaredFile.defaultType(forMIME: "application/pdf") == "file")
    }

    @Test func pluginRefusalsMapToStableCodes() {
        func error(_ code: String?, _ status: Int?, _ stage: AttachmentRefusal.Stage, mismatch: Bool = false) -> (String, Int) {
            let refusal = AttachmentRefusal.error(message: "image.truncated: text is never parsed", code: code, status: status,
                                                  stage: stage, contradictsDeclaredType: mismatch)
            return (refusal.code, refusal.status)
        }
        // ABI 1.2: the plugin's code and status win, whatever the text says.
        #expect(error("attachment.content_mismatch", 415, .validation) == ("attachment.content_mismatch", 415))
        #expect(error("attachment.too_small", nil, .thumbnail) == ("attachment.too_small", 422))
        // No code (a 1.0/1.1 plugin): the stage decides; the host's own sniffing finds mismatches.
        #expect(error(nil, nil, .validation) == ("attachment.unsupported_type", 415))
        #expect(error(nil, nil, .validation, mismatch: true) == ("attachment.content_mismatch", 415))
        #expect(error(nil, nil, .thumbnail) == ("attachment.bad_image", 422))
    }

    @Test func etagMatching() {
        #expect(AttachmentServing.matches("*", etag: "\"a\""))
        #expect(AttachmentServing.matches("\"b\", W/\"a\"", etag: "\"a\""))
        #expect(!AttachmentServing.matches("\"b\"", etag: "\"a\""))
    }
}
