import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// Attachments inside events: expanded into descriptors, delivered, and readable by recipients.
@Suite struct AttachmentEventTests {
    @Test func eventWithAttachmentReachesRecipientWhoCanFetchItWhileOthersCannot() async throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let original = images.make(width: 200, height: 100, format: .jpeg)
        let uploadDocument = try gateway.upload(original, mime: "image/jpeg", name: "cat.jpg", token: aliceToken).json()
        let upload = uploadDocument.view
        let id = try #require(upload["id"].string)
        let bob = try await gateway.connect(gateway.token("bob"))
        let carol = try await gateway.connect(gateway.token("carol"))

        let event = #"{"category":"chat.message","message":"look","target":{"principals":["bob"]},"#
            + #""attachments":[{"id":"\#(id)"},{"type":"youtube","url":"https://www.youtube.com/watch?v=dQw4w9WgXcQ"},"#
            + #"{"type":"object_reference","ref":"invoice/42"}]}"#
        let published = try gateway.publish(event, token: aliceToken)
        #expect(published.status == 202, "\(published.text)")

        let received = try await bob.nextJSON()
        let attachments = received.view["attachments"]
        #expect(attachments.count == 3)
        let descriptor = attachments[0]
        #expect(descriptor["id"].string == id)
        #expect(descriptor["type"].string == "image")
        #expect(descriptor["mime"].string == "image/jpeg")
        #expect(descriptor["size"].int == original.count)
        #expect(descriptor["name"].string == "cat.jpg")
        #expect(descriptor["sha256"].string == upload["sha256"].string)
        #expect(descriptor["src"].string == "/api/v1/attachments/\(id)")
        #expect(descriptor["thumbnail"]["src"].string == "/api/v1/attachments/\(id)/thumbnail")
        #expect(descriptor["thumbnail"]["width"].int == 100)
        #expect(descriptor["thumbnail"]["height"].int == 50)
        #expect(attachments[1]["type"].string == "youtube")
        #expect(attachments[1]["url"].string == "https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        #expect(attachments[2]["ref"].string == "invoice/42", "object_reference passes through as given")
        try await carol.expectSilence()

        let src = try #require(descriptor["src"].string)
        let atBob = try gateway.http("GET", src, token: gateway.token("bob"))
        #expect(atBob.status == 200)
        #expect(atBob.body == original)
        let thumbnailAtBob = try gateway.http("GET", src + "/thumbnail", token: gateway.token("bob"))
        #expect(thumbnailAtBob.status == 200)
        let atCarol = try gateway.http("GET", src, token: gateway.token("carol"))
        #expect(atCarol.status == 403)
        #expect(atCarol.attachmentErrorCode == "attachment.forbidden")
        await bob.close()
        await carol.close()
    }

    @Test func groupTargetsGrantEveryMember() async throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let id = try #require(try gateway.upload(images.make(width: 10, height: 10, format: .gif), mime: "image/gif",
                                                 name: "g.gif", token: aliceToken).attachmentField("id"))
        let published = try gateway.publish(#"{"category":"c","target":{"principals":["group:staff"]},"attachments":[{"id":"\#(id)"}]}"#,
                                            token: aliceToken)
        #expect(published.status == 202)
        let member = try gateway.http("GET", "/api/v1/attachments/\(id)", token: gateway.token("dave", principals: ["group:staff"]))
        #expect(member.status == 200)
        let outsider = try gateway.http("GET", "/api/v1/attachments/\(id)", token: gateway.token("erin", principals: ["group:sales"]))
        #expect(outsider.status == 403)
    }

    @Test func unknownForeignAndInvalidAttachmentsAreRefused() throws {
        let images = try AttachmentTestImages.require()
        let gateway = try AttachmentGateway.start()
        defer { gateway.stop() }
        let id = try #require(try gateway.upload(images.make(width: 10, height: 10, format: .png), mime: "image/png",
                                                 name: "p.png", token: gateway.token("alice")).attachmentField("id"))
        let mallory = gateway.token("mallory", publish: true)
        func publish(_ attachments: String) throws -> RawHTTPResponse {
            try gateway.publish(#"{"category":"c","target":{"principals":["bob"]},"attachments":\#(attachments)}"#, token: mallory)
        }
        let foreign = try publish(#"[{"id":"\#(id)"}]"#)
        #expect(foreign.status == 403)
        #expect(foreign.attachmentErrorCode == "attachment.forbidden")
        let unknown = try publish(#"[{"id":"nope"}]"#)
        #expect(unknown.status == 400)
        #expect(unknown.attachmentErrorCode == "attachment.unknown")
        let badURL = try publish(#"[{"type":"youtube","url":"https://evil.example/?youtube.com"}]"#)
        #expect(badURL.status == 400)
        #expect(badURL.attachmentErrorCode == "attachment.rejected")
        let forgedDescriptor = try publish(#"[{"type":"image","src":"/api/v1/attachments/\#(id)"}]"#)
        #expect(forgedDescriptor.status == 400, "a descriptor without an upload id is not trusted")
        let shapeless = try publish(#"[{"name":"x"}]"#)
        #expect(shapeless.status == 400)
        #expect(shapeless.attachmentErrorCode == "attachment.invalid")
        // The refused events granted nothing.
        let atBob = try gateway.http("GET", "/api/v1/attachments/\(id)", token: gateway.token("bob"))
        #expect(atBob.status == 403)
    }
}
