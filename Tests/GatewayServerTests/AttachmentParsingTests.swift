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
        func code(_ message: String, _ stage: RefusalClassifier.Stage, mismatch: Bool = false) -> String {
            RefusalClassifier.refusal(message, stage: stage, contradictsDeclaredType: mismatch).code
        }
        #expect(code("Files of type text/plain are not accepted.", .validation) == "attachment.unsupported_type")
        #expect(code("The file content is not a PNG image.", .validation, mismatch: true) == "attachment.content_mismatch")
        #expect(code("image.mime_mismatch: declared as image/png but the bytes are GIF", .validation) == "attachment.content_mismatch")
        #expect(code("image.truncated: the PNG ends early", .validation) == "attachment.bad_image")
        #expect(code("image.too_many_pixels: 100000x100000", .thumbnail) == "attachment.bad_image")
        #expect(code("decoder gave up", .thumbnail) == "attachment.bad_image")
        #expect(RefusalClassifier.leadingCode(of: "Note: nothing") == nil)
    }

    @Test func etagMatching() {
        #expect(AttachmentServing.matches("*", etag: "\"a\""))
        #expect(AttachmentServing.matches("\"b\", W/\"a\"", etag: "\"a\""))
        #expect(!AttachmentServing.matches("\"b\"", etag: "\"a\""))
    }
}
