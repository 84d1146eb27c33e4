import GatewayWeb
import NIOHTTP1

/// GET /, /admin and /ui/*: the chat page and the admin console (files in Sources/GatewayWeb).
enum PageRoutes {
    static func response(for path: String) -> HTTPResponse? {
        guard let asset = WebAssets.byPath[path] else { return nil }
        return HTTPResponse(status: .ok, contentType: asset.contentType, body: asset.bytes, headers: headers)
    }

    /// The pages run only their own scripts (no inline code, nothing from elsewhere), talk only to
    /// this gateway, and cannot be framed: an event's text can never become code on a page.
    static let headers = HTTPHeaders([
        ("Content-Security-Policy",
         "default-src 'self'; img-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-cache"),
    ])
}
