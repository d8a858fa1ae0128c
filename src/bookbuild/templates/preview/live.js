// bookbuild serve: reload this page when the book is rebuilt, keeping the reader's place.
(function () {
  var meta = document.querySelector('meta[name="bookbuild-version"]');
  var version = meta ? meta.getAttribute("content") : "0";
  var key = "bookbuild-scroll:" + location.pathname;
  var saved = sessionStorage.getItem(key);
  if (saved !== null) { window.scrollTo(0, parseInt(saved, 10)); sessionStorage.removeItem(key); }
  var events = new EventSource("/_events");
  events.onmessage = function (event) {
    if (event.data !== version) {
      sessionStorage.setItem(key, String(window.scrollY));
      events.close();
      location.reload();
    }
  };
})();
