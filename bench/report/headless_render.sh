# Sourced by the tests that render a report: render_report HTML WORKDIR
# opens HTML in headless Chromium, offline, saves a screenshot next to it
# (report.png), fails on any console message, and sets REPORT_SVGS to the
# number of plots in the rendered page. Needs fail() (ferryd_test_lib.sh).
render_report() {
  local page=$1 work=$2
  command -v chromium >/dev/null || fail "chromium missing (deploy/install-deps.sh)"
  local browser=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
                 --no-first-run --user-data-dir="$work/chromium" --proxy-server=127.0.0.1:9)
  local png=${page%.html}.png
  timeout 120 "${browser[@]}" --enable-logging=stderr --v=0 --screenshot="$png" \
    --window-size=1200,2400 "file://$page" 2>"$work/chromium.log" || fail "chromium failed"
  [[ -s $png ]] || fail "no screenshot of $page"
  if grep -q "CONSOLE" "$work/chromium.log"; then
    grep "CONSOLE" "$work/chromium.log"
    fail "console messages while rendering $page"
  fi
  REPORT_SVGS=$(timeout 120 "${browser[@]}" --dump-dom "file://$page" 2>/dev/null |
    grep -c "<svg" || true)
}
