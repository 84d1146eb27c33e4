import Foundation
import GatewayJSON
import Testing

/// POST /api/v1/attachments with real images through the real bundled plugins.
@Suite struct AttachmentUploadTests {
    @Test(arguments: AttachmentTestImages.Format.allCases)
    func uploadedImageGetsADecodableThumbnailThatKeepsTheAspect(format: AttachmentTestImages.Format) throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let token = gateway.token("alice")
        let original = images.make(width: 400, height: 200, format: format)
        try #require(!original.isEmpty)

        let response = try gateway.upload(original, mime: format.rawValue, name: "photo.\(format.fileExtension)", token: token)
        let spaced = try gateway.upload(original, mime: format.rawValue, name: "a+b%20c.\(format.fileExtension)", token: token)
        #expect(spaced.attachmentField("name") == "a+b c.\(format.fileExtension)", "X-File-Name is percent-decoded; '+' stays")
        #expect(response.status == 201, "\(response.text)")
        let descriptorDocument = try response.json()
        let descriptor = descriptorDocument.view
        let id = try #require(descriptor["id"].string)
        #expect(descriptor["type"].string == "image")
        #expect(descriptor["mime"].string == format.rawValue)
        #expect(descriptor["size"].int == original.count)
        #expect(descriptor["name"].string == "photo.\(format.fileExtension)")
        #expect(descriptor["src"].string == "/api/v1/attachments/\(id)")
        #expect(descriptor["sha256"].string?.count == 64)
        #expect(response.header("Location") == "/api/v1/attachments/\(id)")

        let thumbnail = descriptor["thumbnail"]
        #expect(thumbnail["src"].string == "/api/v1/attachments/\(id)/thumbnail")
        #expect(thumbnail["width"].int == 100)
        #expect(thumbnail["height"].int == 50)
        let thumbnailMIME = try #require(thumbnail["mime"].string)

        let fetched = try gateway.http("GET", "/api/v1/attachments/\(id)/thumbnail", token: token)
        #expect(fetched.status == 200)
        #expect(fetched.header("Content-Type") == thumbnailMIME)
        let decoded = try #require(images.dimensions(of: fetched.body, mime: thumbnailMIME), "the thumbnail must decode")
        #expect(decoded.width <= 100 && decoded.height <= 100)
        #expect(decoded.width == 2 * decoded.height, "a 2:1 original keeps 2:1, got \(decoded)")

        let bytes = try gateway.http("GET", "/api/v1/attachments/\(id)", token: token)
        #expect(bytes.status == 200)
        #expect(bytes.body == original)
    }

    @Test func multipartUploadTakesTheFilePartAndItsName() throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let token = gateway.token("alice")
        let original = images.make(width: 120, height: 240, format: .jpeg)
        let response = try gateway.uploadMultipart(original, mime: "image/jpeg", fileName: "dir/../Ünïcode photo.jpg", token: token)
        #expect(response.status == 201, "\(response.text)")
        let descriptorDocument = try response.json()
        let descriptor = descriptorDocument.view
        #expect(descriptor["name"].string == "Ünïcode photo.jpg", "path parts are dropped from a file name")
        #expect(descriptor["mime"].string == "image/jpeg")
        #expect(descriptor["size"].int == original.count)
        #expect(descriptor["thumbnail"]["width"].int == 50)
        #expect(descriptor["thumbnail"]["height"].int == 100)
        let id = try #require(descriptor["id"].string)
        let fetched = try gateway.http("GET", "/api/v1/attachments/\(id)", token: token)
        #expect(fetched.body == original)
        #expect(fetched.header("Content-Disposition")?.contains("filename*=UTF-8''%C3%9Cn%C3%AFcode%20photo.jpg") == true)
    }

    @Test func sameBytesUploadedTwiceAreStoredOnce() throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let original = images.make(width: 64, height: 64, format: .png)
        let firstDocument = try gateway.upload(original, mime: "image/png", name: "a.png", token: gateway.token("alice")).json()
        let first = firstDocument.view
        let secondDocument = try gateway.upload(original, mime: "image/png", name: "b.png", token: gateway.token("bob")).json()
        let second = secondDocument.view
        let sha256 = try #require(first["sha256"].string)
        #expect(second["sha256"].string == sha256)
        #expect(first["id"].string != second["id"].string, "each upload is its own attachment (owner, name)")
        let files = gateway.storedFiles()
        #expect(files.filter { $0.hasSuffix(sha256) } == ["\(sha256.prefix(2))/\(sha256)"])
        // The original and one shared thumbnail; nothing left in tmp.
        #expect(files.count == 2, "\(files)")
    }

    @Test func pdfUploadedAsACustomTypeIsAFileWithoutThumbnail() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let pdf = Array("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".utf8)
        let response = try gateway.http("POST", "/api/v1/attachments?type=pdf&name=report.pdf", token: gateway.token("alice"),
                                        headers: [("Content-Type", "application/pdf")], body: pdf)
        #expect(response.status == 201, "\(response.text)")
        let descriptorDocument = try response.json()
        let descriptor = descriptorDocument.view
        #expect(descriptor["type"].string == "pdf")
        #expect(descriptor["name"].string == "report.pdf")
        #expect(!descriptor["thumbnail"].exists)
        let id = try #require(descriptor["id"].string)
        let fetched = try gateway.http("GET", "/api/v1/attachments/\(id)", token: gateway.token("alice"))
        #expect(fetched.body == pdf)
        #expect(fetched.header("Content-Disposition")?.hasPrefix("attachment;") == true, "non-images download, never render inline")
        let thumbnail = try gateway.http("GET", "/api/v1/attachments/\(id)/thumbnail", token: gateway.token("alice"))
        #expect(thumbnail.status == 404)
        #expect(thumbnail.attachmentErrorCode == "attachment.no_thumbnail")
    }
}
