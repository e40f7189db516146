package exif_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/imgconsent/imgconsent/exif"
)

// withXMP puts an XMP packet into a JPEG, in an APP1 segment right after
// its start marker, as photo tools write it.
func withXMP(jpg []byte, packet string) []byte {
	payload := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), packet...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(append(append(append([]byte{}, jpg[:2]...), seg...), payload...), jpg[2:]...)
}

// Consent signals in a file: a photographer's tool marked this JPEG with
// the PLUS "data mining" property (AI/ML training prohibited) and a
// creator. Read takes the bytes alone; no pixel is decoded.
func ExampleRead() {
	var buf bytes.Buffer
	jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 48)), nil)
	jpg := withXMP(buf.Bytes(), `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
  plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING">
<dc:creator><rdf:Seq><rdf:li>Ann Example</rdf:li></rdf:Seq></dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta>`)

	md, err := exif.Read(jpg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range md.Signals() {
		fmt.Printf("%s %s: %s\n", s.Source, s.Field, s.Meaning)
	}
	// Output:
	// xmp plus:DataMining: optout
	// xmp dc:creator: rights-notice
}
