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

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
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
		{[]string{"-dc", "DC1=127.0.0.1:0", "-role", "R=VM.Bogus"}, "-role R: invalid privilege 'VM.Bogus'"},
		{[]string{"-dc", "DC1=127.0.0.1:0", "-privsep-token", "m@pve!tk=s:Nope"}, "role 'Nope' does not exist"},
		{[]string{"-dc", "DC1=127.0.0.1:0", "-privsep-token", "m@pve!tk=s"}, "want USER@REALM!ID=SECRET:ROLE"},
		{[]string{"-dc", "DC1=127.0.0.1:0", "-nodes", "0"}, "-nodes must be at least 1"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseFlags(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

// -pbs-dir gives every datacenter the same datastore; without it none has one.
func TestPBSDirFlag(t *testing.T) {
	o, err := parseFlags([]string{"-dc", "DC1=127.0.0.1:0", "-dc", "DC2=127.0.0.1:0", "-pbs-dir", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.openPBS(); err != nil {
		t.Fatal(err)
	}
	if a, b := o.clusterConfig("DC1").PBS, o.clusterConfig("DC2").PBS; a == nil || a != b {
		t.Errorf("PBS datastores %p %p, want one shared", a, b)
	}
	o, _ = parseFlags([]string{"-dc", "DC1=127.0.0.1:0"}, io.Discard)
	if err := o.openPBS(); err != nil || o.clusterConfig("DC1").PBS != nil {
		t.Errorf("without -pbs-dir: %v %v", err, o.clusterConfig("DC1").PBS)
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

func TestLimitedTokenFlags(t *testing.T) {
	o, err := parseFlags([]string{"-dc", "DC1=127.0.0.1:0", "-role", "Viewer=VM.Audit,Sys.Audit",
		"-privsep-token", "view@pve!ro=S1:Viewer", "-privsep-token", "aud@pve!au=S2:PVEAuditor"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	acl := pvesim.New(o.clusterConfig("DC1")).Access()
	if !acl.Has("view@pve!ro", "/vms/100", "VM.Audit") || acl.Has("view@pve!ro", "/vms/100", "VM.Allocate") {
		t.Errorf("view@pve!ro holds %v on /vms/100", acl.Permissions("view@pve!ro", "/vms/100"))
	}
	if !acl.Has("aud@pve!au", "/storage/local", "Datastore.Audit") || acl.Has("aud@pve!au", "/", "Sys.Modify") {
		t.Errorf("aud@pve!a holds %v on /", acl.Permissions("aud@pve!au", "/"))
	}
	if _, err := acl.VerifyToken("view@pve!ro", "S1", func(a, b string) bool { return a == b }); err != nil {
		t.Errorf("token secret: %v", err)
	}
}
