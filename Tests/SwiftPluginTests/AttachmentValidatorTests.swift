// attachment-validator loaded from its real .so: MIME/extension lists, size limit, magic bytes,
// YouTube links, object references and unknown types.
import CGatewayPlugin
import GatewayJSON
import Testing

enum Samples {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8) + [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
    static let gif: [UInt8] = Array("GIF89a".utf8) + [1, 0, 1, 0, 0x80, 0, 0]
    static let webp: [UInt8] = Array("RIFF".utf8) + [26, 0, 0, 0] + Array("WEBPVP8 ".utf8) + [0, 0, 0, 0]
    static let pdf: [UInt8] = Array("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n".utf8)
    static let text: [UInt8] = Array("<html><script>alert(1)</script></html>".utf8)
}

@Suite("attachment-validator plugin")
struct AttachmentValidatorTests {
    let plugin: PluginLibrary
    init() throws { plugin = try PluginLibrary.load("AttachmentValidator") }

    func metadata(type: String, name: String, mime: String, size: Int? = nil) -> String {
        let sizeField = size.map { #", "size": \#($0)"# } ?? ""
        return #"{"type": "\#(type)", "name": "\#(name)", "mime": "\#(mime)"\#(sizeField)}"#
    }

    @Test("files whose bytes match their declared type are accepted")
    func acceptsMatchingContent() throws {
        let instance = try plugin.instance(#"{"accepted_mime": ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"], "accepted_extensions": ["png", "jpg", "gif", "webp", "pdf"]}"#,
                                           host: TestHost())
        defer { instance.destroy() }
        let cases: [(String, String, String, [UInt8])] = [
            ("image", "a.png", "image/png", Samples.png), ("image", "b.JPG", "image/jpeg", Samples.jpeg),
            ("image", "c.gif", "image/gif", Samples.gif), ("image", "d.webp", "image/webp", Samples.webp),
            ("pdf", "e.pdf", "application/pdf", Samples.pdf), ("image", "noextension", "IMAGE/PNG", Samples.png),
        ]
        for (type, name, mime, bytes) in cases {
            let answer = try instance.validate(metadata(type: type, name: name, mime: mime, size: bytes.count), bytes: bytes)
            #expect(answer.result == gw_result(GW_OK), "\(name): \(answer.message)")
            #expect(answer.message == "")
        }
    }

    @Test("bytes that are not what the MIME type says are rejected with a client-visible reason")
    func rejectsMismatchedContent() throws {
        let instance = try plugin.instance("{}", host: TestHost())
        defer { instance.destroy() }
        let pngAsJPEG = try instance.validate(metadata(type: "image", name: "a.jpg", mime: "image/jpeg"), bytes: Samples.png)
        #expect(pngAsJPEG.result == gw_result(GW_REJECT))
        #expect(pngAsJPEG.message == "The file content is not a JPEG image as its type image/jpeg says.")
        let htmlAsPNG = try instance.validate(metadata(type: "image", name: "a.png", mime: "image/png"), bytes: Samples.text)
        #expect(htmlAsPNG.result == gw_result(GW_REJECT))
        #expect(htmlAsPNG.message.contains("not a PNG image"))
        let pdfAsImage = try instance.validate(metadata(type: "image", name: "a.pdf", mime: "application/pdf"), bytes: Samples.pdf)
        #expect(pdfAsImage.result == gw_result(GW_REJECT))
        #expect(pdfAsImage.message.contains("cannot be of type application/pdf"))
    }

    @Test("MIME types, extensions, sizes and empty files are checked", arguments: [
        (#"{"type": "image", "name": "a.webp", "mime": "image/webp"}"#, Samples.webp, "Files of type image/webp are not accepted"),
        (#"{"type": "image", "name": "a.exe", "mime": "image/png"}"#, Samples.png, "Files ending in .exe are not accepted"),
        (#"{"type": "image", "name": "a.gif", "mime": "image/png"}"#, Samples.png, "extension .gif does not match its type image/png"),
        (#"{"type": "image", "name": "a.png", "mime": "image/png", "size": 3}"#, Samples.png, "declared size (3 bytes)"),
        (#"{"type": "image", "name": "a.png", "mime": "image/png"}"#, [UInt8](), "The attachment is empty."),
        (#"{"type": "image", "name": "a.png"}"#, Samples.png, "The attachment has no MIME type."),
        (#"{"name": "a.png", "mime": "image/png"}"#, Samples.png, "The attachment has no type."),
        (#"{"type": "video", "name": "a.mp4", "mime": "video/mp4"}"#, Samples.png, "Attachments of type 'video' are not accepted"),
    ])
    func rejections(metadata: String, bytes: [UInt8], reason: String) throws {
        let instance = try plugin.instance("{}", host: TestHost())
        defer { instance.destroy() }
        let answer = try instance.validate(metadata, bytes: bytes)
        #expect(answer.result == gw_result(GW_REJECT))
        #expect(answer.message.contains(reason), "got: \(answer.message)")
    }

    @Test("the size limit is enforced")
    func sizeLimit() throws {
        let instance = try plugin.instance(#"{"max_bytes": 16}"#, host: TestHost())
        defer { instance.destroy() }
        let big = Samples.png + [UInt8](repeating: 0, count: 100)
        let answer = try instance.validate(metadata(type: "image", name: "a.png", mime: "image/png"), bytes: big)
        #expect(answer.result == gw_result(GW_REJECT))
        #expect(answer.message == "The attachment is too large: \(big.count) bytes; the limit is 16 bytes.")
        let small = try instance.validate(metadata(type: "image", name: "a.gif", mime: "image/gif"), bytes: Samples.gif)
        #expect(small.result == gw_result(GW_OK))
    }

    @Test("youtube attachments are checked by URL form, without bytes", arguments: [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", true),
        ("http://youtube.com/watch?feature=share&v=dQw4w9WgXcQ#t=10", true),
        ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", true),
        ("https://youtu.be/dQw4w9WgXcQ", true),
        ("https://youtu.be/dQw4w9WgXcQ?t=42", true),
        ("https://www.youtube.com/embed/dQw4w9WgXcQ", true),
        ("https://www.youtube.com/watch?v=short", false),
        ("https://www.youtube.com/watch?x=dQw4w9WgXcQ", false),
        ("https://youtube.com@evil.example/watch?v=dQw4w9WgXcQ", false),
        ("https://evil.example/?u=youtube.com/watch?v=dQw4w9WgXcQ", false),
        ("https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ", false),
        ("javascript:alert(1)//youtu.be/dQw4w9WgXcQ", false),
        ("https://vimeo.com/123456", false),
        ("https://youtu.be/dQw4w9WgXc<", false),
    ])
    func youtube(url: String, accepted: Bool) throws {
        let instance = try plugin.instance("{}", host: TestHost())
        defer { instance.destroy() }
        let answer = try instance.validate(#"{"type": "youtube", "url": "\#(url)"}"#, bytes: nil)
        #expect(answer.result == gw_result(accepted ? GW_OK : GW_REJECT), "\(url): \(answer.message)")
        if !accepted { #expect(answer.message.contains("YouTube video link")) }
    }

    @Test("youtube without a URL is rejected; object_reference is accepted")
    func urlAndReferenceTypes() throws {
        let instance = try plugin.instance("{}", host: TestHost())
        defer { instance.destroy() }
        #expect(try instance.validate(#"{"type": "youtube"}"#, bytes: nil).result == gw_result(GW_REJECT))
        #expect(try instance.validate(#"{"type": "object_reference", "url": "app://thread/12"}"#, bytes: nil).result == gw_result(GW_OK))
    }

    @Test("types can be restricted in config")
    func restrictedTypes() throws {
        let instance = try plugin.instance(#"{"types": ["image"]}"#, host: TestHost())
        defer { instance.destroy() }
        let answer = try instance.validate(#"{"type": "youtube", "url": "https://youtu.be/dQw4w9WgXcQ"}"#, bytes: nil)
        #expect(answer.result == gw_result(GW_REJECT))
        #expect(answer.message == "Attachments of type 'youtube' are not accepted. Accepted types: image.")
    }

    @Test("bad configurations are refused with NULL and a stable code", arguments: [
        (#"{"accepted_mime": ["text/plain"]}"#, "attachment_validator.unverifiable_mime:"),
        (#"{"accepted_extensions": ["exe"]}"#, "attachment_validator.unverifiable_extension:"),
        (#"{"max_bytes": 0}"#, "attachment_validator.out_of_range:"),
        (#"{"max_bytes": "10MB"}"#, "attachment_validator.bad_type:"),
        (#"{"max_size": 10}"#, "attachment_validator.unknown_key:"),
    ])
    func badConfig(config: String, code: String) throws {
        let message = try plugin.createError(config, host: TestHost())
        #expect(message.hasPrefix(code), "got: \(message)")
    }
}
