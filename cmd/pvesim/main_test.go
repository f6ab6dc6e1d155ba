package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRunAnnouncesAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"-dc", "DC1=127.0.0.1:0", "-dc", "DC2=127.0.0.1:0",
			"-nodes", "2", "-node-cores", "4", "-token", "root@pam!moxxie=SECRET", "-task-duration", "0s",
		}, outW, io.Discard)
		outW.Close()
	}()

	lineRe := regexp.MustCompile(`^(DC[12]) (https://127\.0\.0\.1:\d+) fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$`)
	urls := map[string]string{}
	sc := bufio.NewScanner(outR)
	for len(urls) < 2 && sc.Scan() {
		m := lineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("unexpected line %q", sc.Text())
		}
		urls[m[1]] = m[2]
	}
	if len(urls) != 2 || urls["DC1"] == urls["DC2"] {
		t.Fatalf("announced %v", urls)
	}

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest("GET", urls["DC2"]+"/api2/json/cluster/status", nil)
	req.Header.Set("Authorization", "PVEAPIToken=root@pam!moxxie=SECRET")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data) != 3 || body.Data[0]["name"] != "DC2" || body.Data[2]["name"] != "pve2" {
		t.Errorf("cluster status = %v", body.Data)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestParseFlagsRejects(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "at least one -dc"},
		{[]string{"-dc", "DC1"}, "not NAME=VALUE"},
		{[]string{"-dc", "DC1=127.0.0.1:0", "-token", "root=x"}, "want USER@REALM!ID=SECRET"},
		{[]string{"-dc", "DC1=127.0.0.1:0", "-nodes", "0"}, "-nodes must be at least 1"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseFlags(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestClusterConfigFromFlags(t *testing.T) {
	o, err := parseFlags([]string{"-dc", "DC1=127.0.0.1:0", "-nodes", "3", "-node-cores", "8",
		"-node-memory-mb", "2048", "-user", "root@pam=pw", "-token", "a@pve!t=s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.clusterConfig("DC1")
	if len(cfg.Nodes) != 3 || cfg.Nodes[2].Name != "pve3" || cfg.Nodes[0].Cores != 8 || cfg.Nodes[1].MemoryMB != 2048 {
		t.Errorf("nodes = %+v", cfg.Nodes)
	}
	if cfg.Users["root@pam"] != "pw" || cfg.Tokens["a@pve!t"] != "s" || cfg.Name != "DC1" {
		t.Errorf("users %v tokens %v", cfg.Users, cfg.Tokens)
	}
}
