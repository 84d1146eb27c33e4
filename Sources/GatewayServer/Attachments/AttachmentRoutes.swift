import GatewayAuth
import GatewayCore
import GatewayStore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// POST /api/v1/attachments (streamed upload) and GET|HEAD /api/v1/attachments/<id>[/thumbnail].
struct AttachmentRoutes: Sendable {
    let service: AttachmentService
    let authenticator: Authenticator
    let chain: ChainReference
    let pool: NIOThreadPool
    let settings: GatewayConfig.Attachments
    let logger: Logger

    static let uploadPath = "/api/v1/attachments"
    /// Multipart framing (boundaries, part headers, small form fields) allowed on top of max_bytes.
    static let multipartOverheadBytes = 64 * 1024

    /// On the event loop, at the head of POST /api/v1/attachments: everything that can be refused
    /// before reading a byte of the body is refused here (401, 413 from Content-Length, 400).
    func beginUpload(head: HTTPRequestHead, target: RequestTarget, channel: Channel) -> BodyHandling {
        let identity: Identity
        // Only the uploader's id is kept, so the token alone identifies it (this runs before the
        // body, where the context service's answer cannot be waited for).
        switch authenticator.verify(token: RequestCredentials(head: head, query: target.query).token) {
        case .success(let value): identity = value
        case .failure(let error): return .reject(.error(error))
        }
        let maxBytes = settings.maxBytes
        let contentType = head.headers.first(name: "Content-Type") ?? ""
        let mime = DeclaredFile.normalizedMIME(contentType)
        var multipart: MultipartFileExtractor?
        if mime == "multipart/form-data" {
            guard let boundary = MultipartFileExtractor.boundary(fromContentType: contentType) else {
                return .reject(.error(.attachmentBadMultipart("multipart/form-data needs a boundary parameter of 1 to 70 characters.")))
            }
            multipart = MultipartFileExtractor(boundary: boundary)
        }
        let allowed = multipart == nil ? maxBytes : maxBytes + Self.multipartOverheadBytes
        if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > allowed {
            return .reject(.error(.attachmentTooLarge(maxBytes)))
        }
        let clientType = head.headers.first(name: "X-Attachment-Type") ?? target.query["type"]
        if let clientType, !Self.isValidTypeName(clientType) {
            return .reject(.error(.attachmentInvalid("The attachment type must be 1 to 64 letters, digits, '_' or '-'.")))
        }
        // A header value is not a query string: '+' stays a plus sign, only %XX is decoded.
        let headerName = head.headers.first(name: "X-File-Name").map {
            RequestTarget.percentDecode($0.split(separator: "+", omittingEmptySubsequences: false).joined(separator: "%2B"))
        }
        let name = headerName ?? target.query["name"]
        let declaration = UploadDeclaration(
            file: DeclaredFile(type: clientType ?? DeclaredFile.defaultType(forMIME: mime), mime: mime,
                               name: DeclaredFile.sanitizedName(name)),
            typeChosenByClient: clientType != nil)
        let upload: UploadFile
        do throws(StoreError) {
            upload = try service.store.beginUpload(maxBytes: Int64(maxBytes))
        } catch {
            logger.error("cannot start an upload", metadata: ["error": "\(error)"])
            return .reject(.error(.attachmentStorageFailed()))
        }
        let ingest = AttachmentIngest(store: service.store, chain: chain.current,
                                      thumbnailWidth: settings.thumbnailWidth,
                                      thumbnailHeight: settings.thumbnailHeight, logger: logger)
        return .streaming(AttachmentUpload(channel: channel, pool: pool, upload: upload, ingest: ingest,
                                           owner: identity.id, declared: declaration, multipart: multipart, fileLimit: maxBytes))
    }

    static func isValidTypeName(_ type: String) -> Bool {
        (1...64).contains(type.utf8.count) && type.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D
        }
    }

    /// GET|HEAD /api/v1/attachments/<id> and /api/v1/attachments/<id>/thumbnail.
    func serve(_ request: APIRequest, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let identity: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .success(let value): identity = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        let rest = request.target.path.dropFirst(Self.uploadPath.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        let variant: AttachmentServing.Variant
        switch rest.count {
        case 1: variant = .original
        case 2 where rest[1] == "thumbnail": variant = .thumbnail
        default: return eventLoop.makeSucceededFuture(.error(.notFound(request.target.path)))
        }
        let id = String(rest[0])
        guard !id.isEmpty else { return eventLoop.makeSucceededFuture(.error(.notFound(request.target.path))) }
        let head = request.head
        // SQLite lookups and a stat: blocking work, off the event loop.
        let service = self.service
        return pool.runIfActive(eventLoop: eventLoop) {
            AttachmentServing(service: service).response(id: id, variant: variant, identity: identity, head: head)
        }
    }
}
