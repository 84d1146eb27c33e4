// INTERIM (lead): minimal declarations so the server compiles while the attachments helper
// writes the real AttachmentRoutes / AttachmentService in this folder. Attachments helper:
// DELETE THIS FILE as soon as your own declarations exist.
import GatewayCore
import GatewayJSON
import NIOCore
import NIOHTTP1

enum AttachmentRoutes {
    static let uploadPath = "/api/v1/attachments"

    static func beginUpload(head: HTTPRequestHead, target: RequestTarget, server: ServerContext, channel: Channel) -> BodyHandling {
        .reject(.error(GatewayError(code: "attachment.unavailable", message: "Attachments are not available in this build.", status: 503)))
    }

    static func serve(_ request: APIRequest, server: ServerContext, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        eventLoop.makeSucceededFuture(.error(GatewayError(code: "attachment.unavailable", message: "Attachments are not available in this build.", status: 503)))
    }
}

final class AttachmentService: Sendable {
    func expand(_ event: JSON, for publisher: Publisher) throws(GatewayError) {}
    func grant(_ event: JSON, to targets: [String]) {}
}
