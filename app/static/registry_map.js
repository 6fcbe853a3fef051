// The registry form's coordinate map (app/templates/registry/form.html): the province's
// prefectures (the hospital's own shaded) and its point; a click on the map writes longitude
// and latitude into the form, and typing them moves the point. No tiles are fetched: the map
// draws only the boundaries sent with the page. Kept out of the HTML for the CSP.
(function () {
  "use strict";
  var box = document.getElementById("coord-map");
  var source = document.getElementById("coord-map-data");
  if (!box || !source || !window.L) { return; }
  var data = JSON.parse(source.textContent);
  var lon = document.querySelector("[data-coord=lon]");
  var lat = document.querySelector("[data-coord=lat]");
  var picked = document.querySelector("[data-coord-picked]");
  var map = L.map(box, { attributionControl: false, zoomSnap: 0.25 });
  var regions = L.geoJSON({ type: "FeatureCollection", features: data.features }, {
    style: function (f) {
      var own = f.properties.code === data.prefecture;
      return { color: "#52606d", weight: own ? 2 : 0.8, fillColor: own ? "#9fb3c8" : "#e4e7eb", fillOpacity: 0.6 };
    },
    onEachFeature: function (f, layer) { layer.bindTooltip(f.properties.name, { sticky: true }); }
  });
  var point = null;
  function place(latlng) {
    if (point) { point.setLatLng(latlng); } else {
      point = L.circleMarker(latlng, { radius: 7, color: "#b42318", weight: 2, fillColor: "#f04438", fillOpacity: 0.9 }).addTo(map);
    }
  }
  // The view is set before any layer is added: Leaflet's vector renderer needs it to draw.
  var bounds = regions.getBounds();
  if (data.point) {
    map.setView([data.point[1], data.point[0]], 8);
  } else if (bounds.isValid()) {
    map.fitBounds(bounds);
  } else {
    map.setView([35, 105], 4);
  }
  regions.addTo(map);
  if (data.point) { place([data.point[1], data.point[0]]); }
  map.on("click", function (e) {
    var x = e.latlng.lng.toFixed(6), y = e.latlng.lat.toFixed(6);
    if (lon) { lon.value = x; }
    if (lat) { lat.value = y; }
    place(e.latlng);
    if (picked) { picked.textContent = "已选：经度 " + x + "，纬度 " + y; }
  });
  function typed() {
    var x = parseFloat(lon && lon.value), y = parseFloat(lat && lat.value);
    if (isFinite(x) && isFinite(y) && Math.abs(y) <= 90 && Math.abs(x) <= 180) { place([y, x]); }
  }
  if (lon) { lon.addEventListener("change", typed); }
  if (lat) { lat.addEventListener("change", typed); }
  // Tests (and people on slow machines) can tell the map is ready for clicks.
  box.setAttribute("data-ready", "1");
})();
