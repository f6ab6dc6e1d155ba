package pvesim

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// A minimal RFC 6455 WebSocket, enough for the migration tunnel: text
// messages, ping/pong and close; clients mask their frames.

const (
	wsGUID     = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	wsText     = 0x1
	wsClose    = 0x8
	wsPing     = 0x9
	wsPong     = 0xA
	wsMaxFrame = 16 << 20
)

type wsConn struct {
	conn   net.Conn
	br     *bufio.Reader
	client bool
	wmu    sync.Mutex
}

func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func (ws *wsConn) writeFrame(op byte, payload []byte) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	hdr := []byte{0x80 | op}
	maskBit := byte(0)
	if ws.client {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, maskBit|byte(n))
	case n <= 0xFFFF:
		hdr = append(hdr, maskBit|126, byte(n>>8), byte(n))
	default:
		hdr = binary.BigEndian.AppendUint64(append(hdr, maskBit|127), uint64(n))
	}
	if ws.client {
		var key [4]byte
		_, _ = rand.Read(key[:])
		hdr = append(hdr, key[:]...)
		masked := make([]byte, len(payload))
		for i, b := range payload {
			masked[i] = b ^ key[i%4]
		}
		payload = masked
	}
	_ = ws.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := ws.conn.Write(append(hdr, payload...))
	return err
}

// readFrame reads one frame, unmasking it.
func (ws *wsConn) readFrame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(ws.br, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	masked, n := h[1]&0x80 != 0, uint64(h[1]&0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(ws.br, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(ws.br, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > wsMaxFrame {
		return false, 0, nil, fmt.Errorf("websocket frame of %d bytes too large", n)
	}
	if masked != !ws.client { // clients must mask, servers must not
		return false, 0, nil, errors.New("websocket frame masking violates RFC 6455")
	}
	var key [4]byte
	if masked {
		if _, err = io.ReadFull(ws.br, key[:]); err != nil {
			return
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(ws.br, payload); err != nil {
		return
	}
	if masked {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return fin, op, payload, nil
}

// readMessage returns the next text message; pings are answered, a close
// frame ends the stream with io.EOF.
func (ws *wsConn) readMessage(timeout time.Duration) ([]byte, error) {
	var msg []byte
	for {
		_ = ws.conn.SetReadDeadline(time.Now().Add(timeout))
		fin, op, payload, err := ws.readFrame()
		if err != nil {
			return nil, err
		}
		switch op {
		case wsClose:
			_ = ws.writeFrame(wsClose, nil)
			return nil, io.EOF
		case wsPing:
			if err := ws.writeFrame(wsPong, payload); err != nil {
				return nil, err
			}
			continue
		case wsPong:
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

func (ws *wsConn) close() {
	_ = ws.writeFrame(wsClose, nil)
	_ = ws.conn.Close()
}

// acceptWebSocket completes a server-side handshake on a hijacked
// connection.
func acceptWebSocket(w http.ResponseWriter, r *http.Request) (*wsConn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" ||
		!strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
		return nil, errors.New("websocket upgrade required")
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("connection cannot be upgraded")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	fmt.Fprintf(rw.Writer, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(key))
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return &wsConn{conn: conn, br: rw.Reader}, nil
}

// dialWebSocket opens a client WebSocket over conn (already TLS) for
// target (path and query), sending headers with the upgrade request. A
// refused upgrade is returned as the answer's remoteError.
func dialWebSocket(conn net.Conn, host, target string, headers http.Header) (*wsConn, error) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req, err := http.NewRequest(http.MethodGet, "https://"+host+target, nil)
	if err != nil {
		return nil, err
	}
	req.Header = headers.Clone()
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		defer res.Body.Close()
		reason := strings.TrimSpace(strings.TrimPrefix(res.Status, fmt.Sprint(res.StatusCode)))
		return nil, &remoteError{code: res.StatusCode, msg: reason}
	}
	if res.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		return nil, errors.New("websocket handshake failed: bad Sec-WebSocket-Accept")
	}
	_ = conn.SetDeadline(time.Time{})
	return &wsConn{conn: conn, br: br, client: true}, nil
}
