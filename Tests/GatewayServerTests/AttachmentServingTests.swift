import Foundation
import GatewayJSON
import Testing

/// GET|HEAD /api/v1/attachments/<id>: headers, ETag, Range, and who may read.
@Suite struct AttachmentServingTests {
    private func uploaded(_ gateway: TestGateway, owner: String = "alice") throws -> (id: String, sha256: String, bytes: [UInt8]) {
        let images = try AttachmentTestImages.require()
        let bytes = images.make(width: 300, height: 200, format: .png)
        let descriptorDocument = try gateway.upload(bytes, mime: "image/png", name: "chart.png", token: gateway.token(owner)).json()
        let descriptor = descriptorDocument.view
        return (try #require(descriptor["id"].string), try #require(descriptor["sha256"].string), bytes)
    }

    @Test func servesStoredTypeDispositionNosniffAndETag() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let (id, sha256, bytes) = try uploaded(gateway)
        let response = try gateway.http("GET", "/api/v1/attachments/\(id)", token: gateway.token("alice"))
        #expect(response.status == 200)
        #expect(response.body == bytes)
        #expect(response.header("Content-Type") == "image/png")
        #expect(response.header("Content-Length") == String(bytes.count))
        #expect(response.header("X-Content-Type-Options") == "nosniff")
        #expect(response.header("ETag") == "\"\(sha256)\"")
        #expect(response.header("Accept-Ranges") == "bytes")
        #expect(response.header("Content-Disposition") == "inline; filename=\"chart.png\"; filename*=UTF-8''chart.png")

        let head = try gateway.http("HEAD", "/api/v1/attachments/\(id)", token: gateway.token("alice"))
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.header("Content-Length") == String(bytes.count))

        let notModified = try gateway.http("GET", "/api/v1/attachments/\(id)", token: gateway.token("alice"),
                                           headers: [("If-None-Match", "\"other\", \"\(sha256)\"")])
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        #expect(notModified.header("ETag") == "\"\(sha256)\"")
        let changed = try gateway.http("GET", "/api/v1/attachments/\(id)", token: gateway.token("alice"),
                                       headers: [("If-None-Match", "\"other\"")])
        #expect(changed.status == 200)
        #expect(changed.body == bytes)
    }

    @Test func rangeRequestsGet206AndUnsatisfiableOnesGet416() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let (id, sha256, bytes) = try uploaded(gateway)
        let token = gateway.token("alice")
        let path = "/api/v1/attachments/\(id)"
        let size = bytes.count

        let middle = try gateway.http("GET", path, token: token, headers: [("Range", "bytes=10-19")])
        #expect(middle.status == 206)
        #expect(middle.body == Array(bytes[10...19]))
        #expect(middle.header("Content-Range") == "bytes 10-19/\(size)")
        #expect(middle.header("Content-Length") == "10")

        let tail = try gateway.http("GET", path, token: token, headers: [("Range", "bytes=-7")])
        #expect(tail.status == 206)
        #expect(tail.body == Array(bytes.suffix(7)))
        #expect(tail.header("Content-Range") == "bytes \(size - 7)-\(size - 1)/\(size)")

        let open = try gateway.http("GET", path, token: token, headers: [("Range", "bytes=100-")])
        #expect(open.status == 206)
        #expect(open.body == Array(bytes[100...]))

        let past = try gateway.http("GET", path, token: token, headers: [("Range", "bytes=\(size)-")])
        #expect(past.status == 416)
        #expect(past.attachmentErrorCode == "attachment.range_not_satisfiable")
        #expect(past.header("Content-Range") == "bytes */\(size)")

        let staleIfRange = try gateway.http("GET", path, token: token, headers: [("Range", "bytes=0-3"), ("If-Range", "\"old\"")])
        #expect(staleIfRange.status == 200)
        #expect(staleIfRange.body == bytes)
        let freshIfRange = try gateway.http("GET", path, token: token, headers: [("Range", "bytes=0-3"), ("If-Range", "\"\(sha256)\"")])
        #expect(freshIfRange.status == 206)
        #expect(freshIfRange.body == Array(bytes[0...3]))
    }

    @Test func onlyTheUploaderMayReadAnUnsharedAttachment() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let (id, _, _) = try uploaded(gateway)
        let other = try gateway.http("GET", "/api/v1/attachments/\(id)", token: gateway.token("mallory"))
        #expect(other.status == 403)
        #expect(other.attachmentErrorCode == "attachment.forbidden")
        let otherThumbnail = try gateway.http("GET", "/api/v1/attachments/\(id)/thumbnail", token: gateway.token("mallory"))
        #expect(otherThumbnail.status == 403)
        let unknown = try gateway.http("GET", "/api/v1/attachments/no-such-id", token: gateway.token("alice"))
        #expect(unknown.status == 403, "unknown and unshared look alike")
        let anonymous = try gateway.http("GET", "/api/v1/attachments/\(id)")
        #expect(anonymous.status == 401)
        let deeper = try gateway.http("GET", "/api/v1/attachments/\(id)/thumbnail/x", token: gateway.token("alice"))
        #expect(deeper.status == 404)
    }
}
