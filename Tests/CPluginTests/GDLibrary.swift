// libgd, opened with dlopen from the test, to MAKE real PNG/JPEG/GIF inputs and to DECODE the
// thumbnails the plugin returns. The test target has no libgd module, and opening the system
// library directly keeps the check independent of the plugin's own build.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

final class GDLibrary: Sendable {
    typealias Image = OpaquePointer

    static let shared: GDLibrary? = GDLibrary()

    private let createTrueColor: @convention(c) (Int32, Int32) -> Image?
    private let createPalette: @convention(c) (Int32, Int32) -> Image?
    private let colorAllocate: @convention(c) (Image, Int32, Int32, Int32) -> Int32
    private let colorTransparent: @convention(c) (Image, Int32) -> Void
    private let filledRectangle: @convention(c) (Image, Int32, Int32, Int32, Int32, Int32) -> Void
    private let setPixel: @convention(c) (Image, Int32, Int32, Int32) -> Void
    private let interlace: @convention(c) (Image, Int32) -> Void
    private let pngPtr: @convention(c) (Image, UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer?
    private let gifPtr: @convention(c) (Image, UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer?
    private let jpegPtr: @convention(c) (Image, UnsafeMutablePointer<Int32>, Int32) -> UnsafeMutableRawPointer?
    private let fromPng: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?
    private let fromJpeg: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?
    private let fromGif: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?
    private let trueColorPixel: @convention(c) (Image, Int32, Int32) -> Int32
    private let destroyImage: @convention(c) (Image) -> Void
    private let gdFree: @convention(c) (UnsafeMutableRawPointer?) -> Void

    private init?() {
        guard let handle = dlopen("libgd.so.3", RTLD_NOW | RTLD_LOCAL) else { return nil }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        guard let createTrueColor = symbol("gdImageCreateTrueColor", (@convention(c) (Int32, Int32) -> Image?).self),
              let createPalette = symbol("gdImageCreate", (@convention(c) (Int32, Int32) -> Image?).self),
              let colorAllocate = symbol("gdImageColorAllocate", (@convention(c) (Image, Int32, Int32, Int32) -> Int32).self),
              let colorTransparent = symbol("gdImageColorTransparent", (@convention(c) (Image, Int32) -> Void).self),
              let filledRectangle = symbol("gdImageFilledRectangle", (@convention(c) (Image, Int32, Int32, Int32, Int32, Int32) -> Void).self),
              let setPixel = symbol("gdImageSetPixel", (@convention(c) (Image, Int32, Int32, Int32) -> Void).self),
              let interlace = symbol("gdImageInterlace", (@convention(c) (Image, Int32) -> Void).self),
              let pngPtr = symbol("gdImagePngPtr", (@convention(c) (Image, UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer?).self),
              let gifPtr = symbol("gdImageGifPtr", (@convention(c) (Image, UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer?).self),
              let jpegPtr = symbol("gdImageJpegPtr", (@convention(c) (Image, UnsafeMutablePointer<Int32>, Int32) -> UnsafeMutableRawPointer?).self),
              let fromPng = symbol("gdImageCreateFromPngPtr", (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?).self),
              let fromJpeg = symbol("gdImageCreateFromJpegPtr", (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?).self),
              let fromGif = symbol("gdImageCreateFromGifPtr", (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?).self),
              let trueColorPixel = symbol("gdImageGetTrueColorPixel", (@convention(c) (Image, Int32, Int32) -> Int32).self),
              let destroyImage = symbol("gdImageDestroy", (@convention(c) (Image) -> Void).self),
              let gdFree = symbol("gdFree", (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
        else { return nil }
        self.createTrueColor = createTrueColor
        self.createPalette = createPalette
        self.colorAllocate = colorAllocate
        self.colorTransparent = colorTransparent
        self.filledRectangle = filledRectangle
        self.setPixel = setPixel
        self.interlace = interlace
        self.pngPtr = pngPtr
        self.gifPtr = gifPtr
        self.jpegPtr = jpegPtr
        self.fromPng = fromPng
        self.fromJpeg = fromJpeg
        self.fromGif = fromGif
        self.trueColorPixel = trueColorPixel
        self.destroyImage = destroyImage
        self.gdFree = gdFree
    }

    static func require() throws -> GDLibrary {
        try #require(shared, "libgd.so.3 could not be opened (Debian: libgd3) or lacks a symbol the tests use")
    }

    // MARK: Making inputs

    enum Format { case png, jpeg, gif, progressiveJPEG }

    /// gd's truecolor value (alpha 0 = opaque .. 127 = transparent).
    static func color(_ red: Int32, _ green: Int32, _ blue: Int32, alpha: Int32 = 0) -> Int32 {
        (alpha << 24) | (red << 16) | (green << 8) | blue
    }

    /// A width x height image, left half red, right half blue (GIF: left half transparent,
    /// right half green), encoded in `format`.
    func twoHalves(width: Int32, height: Int32, format: Format) -> [UInt8] {
        if format == .gif {
            let image = createPalette(width, height)!
            let clear = colorAllocate(image, 255, 255, 255)
            let green = colorAllocate(image, 0, 200, 0)
            colorTransparent(image, clear)
            filledRectangle(image, 0, 0, width / 2 - 1, height - 1, clear)
            filledRectangle(image, width / 2, 0, width - 1, height - 1, green)
            return encode(image, format)
        }
        let image = createTrueColor(width, height)!
        filledRectangle(image, 0, 0, width / 2 - 1, height - 1, Self.color(220, 20, 20))
        filledRectangle(image, width / 2, 0, width - 1, height - 1, Self.color(20, 20, 220))
        return encode(image, format)
    }

    /// A photo-like image (smooth gradients plus per-pixel noise) so JPEG entropy coding does
    /// realistic work: used to measure the per-thumbnail cost of a typical upload.
    func photoLike(width: Int32, height: Int32, format: Format) -> [UInt8] {
        let image = createTrueColor(width, height)!
        var noise: UInt32 = 0x9E3779B9
        for y in 0..<height {
            for x in 0..<width {
                noise = noise &* 1664525 &+ 1013904223
                let jitter = Int32((noise >> 24) & 0x1F)
                setPixel(image, x, y, Self.color((x * 255 / width + jitter) & 255, (y * 255 / height + jitter) & 255,
                                                 ((x + y) & 255 + jitter) & 255))
            }
        }
        return encode(image, format)
    }

    private func encode(_ image: Image, _ format: Format) -> [UInt8] {
        defer { destroyImage(image) }
        var size: Int32 = 0
        let data: UnsafeMutableRawPointer?
        switch format {
        case .png: data = pngPtr(image, &size)
        case .gif: data = gifPtr(image, &size)
        case .jpeg: data = jpegPtr(image, &size, 90)
        case .progressiveJPEG:
            interlace(image, 1)
            data = jpegPtr(image, &size, 90)
        }
        guard let data, size > 0 else { return [] }
        defer { gdFree(data) }
        return Array(UnsafeRawBufferPointer(start: data, count: Int(size)))
    }

    // MARK: Decoding outputs

    struct Decoded {
        let width: Int
        let height: Int
        /// ARGB as gd stores it; alpha 0 opaque .. 127 transparent.
        let pixel: (Int, Int) -> (red: Int, green: Int, blue: Int, alpha: Int)
    }

    /// Decodes `bytes` as `mime` and hands the image to `body`; nil when libgd cannot decode it.
    func decode<T>(_ bytes: [UInt8], mime: String, _ body: (Decoded) throws -> T) rethrows -> T? {
        var copy = bytes
        let image: Image? = copy.withUnsafeMutableBytes { raw in
            switch mime {
            case "image/png": return fromPng(Int32(raw.count), raw.baseAddress)
            case "image/jpeg": return fromJpeg(Int32(raw.count), raw.baseAddress)
            case "image/gif": return fromGif(Int32(raw.count), raw.baseAddress)
            default: return nil
            }
        }
        guard let image else { return nil }
        defer { destroyImage(image) }
        // gd.h: struct gdImageStruct { unsigned char **pixels; int sx; int sy; ... }
        let raw = UnsafeRawPointer(image)
        let width = Int(raw.load(fromByteOffset: MemoryLayout<UnsafeRawPointer>.size, as: Int32.self))
        let height = Int(raw.load(fromByteOffset: MemoryLayout<UnsafeRawPointer>.size + 4, as: Int32.self))
        let pixel: (Int, Int) -> (red: Int, green: Int, blue: Int, alpha: Int) = { x, y in
            let value = Int(self.trueColorPixel(image, Int32(x), Int32(y)))
            return ((value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF, (value >> 24) & 0x7F)
        }
        return try body(Decoded(width: width, height: height, pixel: pixel))
    }
}
