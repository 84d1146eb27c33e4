import Foundation
import GatewayJSON
import Testing

/// Every refusal of an upload, each with its status and stable code, and nothing left on disk.
@Suite struct AttachmentBadInputTests {
    @Test func uploadWithoutTokenIs401() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let response = try gateway.upload([1, 2, 3], mime: "image/png", name: "a.png", token: nil)
        #expect(response.status == 401)
        #expect(response.attachmentErrorCode == "auth.missing_token", "\(response.headers) \(response.text)")
        let forged = try gateway.upload([1, 2, 3], mime: "image/png", name: "a.png", token: "not-a-jwt")
        #expect(forged.status == 401)
    }

    @Test func overTheLimitIs413FromContentLengthAndWhileStreaming() throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start(maxBytes: 32 * 1024)
        defer { gateway.stop() }
        let token = gateway.token("alice")
        let big = [UInt8](repeating: 7, count: 40 * 1024)
        let declared = try gateway.upload(big, mime: "image/png", name: "big.png", token: token)
        #expect(declared.status == 413)
        #expect(declared.attachmentErrorCode == "attachment.too_large")
        // Multipart gets framing room on top of the limit, so this one is caught while streaming.
        let streamed = try gateway.uploadMultipart(big, mime: "image/png", fileName: "big.png", token: token)
        #expect(streamed.status == 413)
        #expect(streamed.attachmentErrorCode == "attachment.too_large")
        // Just under the limit is fine.
        let small = images.make(width: 10, height: 10, format: .png)
        #expect(try gateway.upload(small, mime: "image/png", name: "s.png", token: token).status == 201)
        #expect(eventually { gateway.storedFiles().allSatisfy { !$0.hasPrefix("tmp/") } }, "\(gateway.storedFiles())")
    }

    @Test func aTypeNoPluginAcceptsIs415WithThePluginsMessage() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let response = try gateway.upload(Array("hello".utf8), mime: "text/plain", name: "notes.txt", token: gateway.token("alice"))
        #expect(response.status == 415)
        #expect(response.attachmentErrorCode == "attachment.unsupported_type")
        let message = response.attachmentErrorMessage ?? ""
        #expect(message.contains("not accepted"), "the validator's own sentence reaches the client: \(message)")
        #expect(gateway.storedFiles().isEmpty, "\(gateway.storedFiles())")
    }

    @Test func bytesThatAreNotTheDeclaredTypeAre415Mismatch() throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let gif = images.make(width: 20, height: 20, format: .gif)
        let response = try gateway.upload(gif, mime: "image/png", name: "x.png", token: gateway.token("alice"))
        #expect(response.status == 415)
        #expect(response.attachmentErrorCode == "attachment.content_mismatch")
        let html = try gateway.upload(Array("<html><script>alert(1)</script>".utf8), mime: "image/jpeg", name: "x.jpg",
                                      token: gateway.token("alice"))
        #expect(html.status == 415)
        #expect(html.attachmentErrorCode == "attachment.content_mismatch")
        #expect(gateway.storedFiles().isEmpty, "\(gateway.storedFiles())")
    }

    @Test func truncatedImageIs422() throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        for format in AttachmentTestImages.Format.allCases {
            let whole = images.make(width: 300, height: 300, format: format)
            let response = try gateway.upload(Array(whole.prefix(whole.count / 2)), mime: format.rawValue,
                                              name: "cut.\(format.fileExtension)", token: gateway.token("alice"))
            #expect(response.status == 422, "\(format): \(response.text)")
            #expect(response.attachmentErrorCode == "attachment.bad_image", "\(format)")
        }
        #expect(gateway.storedFiles().isEmpty, "\(gateway.storedFiles())")
    }

    @Test func decompressionBombIs422Quickly() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let started = Date()
        for (width, height) in [(UInt32(10_000), UInt32(10_000)), (100_000, 100_000), (1, 50_000_000)] {
            let bomb = AttachmentTestImages.pngClaiming(width: width, height: height)
            let response = try gateway.upload(bomb, mime: "image/png", name: "bomb.png", token: gateway.token("alice"))
            #expect(response.status == 422, "\(width)x\(height): \(response.text)")
            #expect(response.attachmentErrorCode == "attachment.bad_image")
        }
        #expect(Date().timeIntervalSince(started) < 15, "refused from the header, without decoding")
        #expect(gateway.storedFiles().isEmpty)
    }

    @Test func malformedMultipartIs400() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let token = gateway.token("alice")
        let noBoundary = try gateway.http("POST", "/api/v1/attachments", token: token,
                                          headers: [("Content-Type", "multipart/form-data")], body: Array("x".utf8))
        #expect(noBoundary.status == 400)
        #expect(noBoundary.attachmentErrorCode == "attachment.bad_multipart")
        let noFile = Array("--b\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nhi\r\n--b--\r\n".utf8)
        let withoutFile = try gateway.http("POST", "/api/v1/attachments", token: token,
                                           headers: [("Content-Type", "multipart/form-data; boundary=b")], body: noFile)
        #expect(withoutFile.status == 400)
        #expect(withoutFile.attachmentErrorCode == "attachment.bad_multipart")
        let cut = Array("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n\u{1}\u{2}\u{3}".utf8)
        let unfinished = try gateway.http("POST", "/api/v1/attachments", token: token,
                                          headers: [("Content-Type", "multipart/form-data; boundary=b")], body: cut)
        #expect(unfinished.status == 400)
        #expect(unfinished.attachmentErrorCode == "attachment.bad_multipart")
        let empty = try gateway.upload([], mime: "image/png", name: "e.png", token: token)
        #expect(empty.status == 400)
        #expect(empty.attachmentErrorCode == "attachment.empty")
        #expect(eventually { gateway.storedFiles().isEmpty }, "\(gateway.storedFiles())")
    }

    @Test func uploadCutOffMidwayLeavesNoFile() throws {
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let connection = try RawConnection(port: gateway.port)
        let head = "POST /api/v1/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(gateway.token("alice"))\r\n"
            + "Content-Type: image/png\r\nX-File-Name: cut.png\r\nContent-Length: 500000\r\n\r\n"
        try connection.send(Array(head.utf8) + [UInt8](repeating: 0x42, count: 200_000))
        // The upload is under way: its temp file exists and has received bytes.
        let started = eventually {
            gateway.storedFiles().contains { path in
                path.hasPrefix("tmp/upload-")
                    && ((try? FileManager.default.attributesOfItem(atPath: gateway.attachmentsDirectory + "/" + path)[.size] as? Int) ?? 0) > 0
            }
        }
        #expect(started, "the upload never started: \(gateway.storedFiles())")
        connection.close()
        #expect(eventually { gateway.storedFiles().isEmpty }, "a cut upload left \(gateway.storedFiles())")
        // The gateway still serves uploads afterwards.
        let images = try AttachmentTestImages.require()
        let after = try gateway.upload(images.make(width: 8, height: 8, format: .png), mime: "image/png", name: "ok.png",
                                       token: gateway.token("alice"))
        #expect(after.status == 201)
    }
}
